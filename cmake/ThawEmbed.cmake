# thaw_embed_model(TARGET MODEL [SYMBOL NAME] [FORM C|ASM])
#
# Links the .thaw file MODEL into TARGET's .rodata, 64-byte aligned, with `thaw embed`; the
# target opens it with thaw_model_open_memory(NAME, NAME_size, ...) after declaring
#     extern const unsigned char NAME[];  extern const size_t NAME_size;
# NAME defaults to thaw_embedded_model. MODEL may itself be the output of a custom command in
# the same directory (a model converted at build time); TARGET is rebuilt when it changes.
# FORM ASM (the default on ELF platforms) assembles a .incbin file: 0.5 s for a 100 MB model,
# where the C form takes 19 s and 1.8 GB of compiler memory. FORM C is portable C11.
#
# The thaw CLI is the in-tree thaw_cli target when there is one, else a `thaw` program found
# on the PATH (an installed thaw), or THAW_EXECUTABLE if set.
# Include this file at file scope, in the directory that holds (or is above) the targets: CMake
# enables a language only there, and the ASM form needs the assembler.
if(CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF")
  enable_language(ASM)
endif()

function(thaw_embed_model target model)
  cmake_parse_arguments(PARSE_ARGV 2 EMBED "" "SYMBOL;FORM" "")
  if(EMBED_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "thaw_embed_model: unexpected arguments: ${EMBED_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT EMBED_SYMBOL)
    set(EMBED_SYMBOL thaw_embedded_model)
  endif()
  if(NOT EMBED_FORM)
    if(CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF")
      set(EMBED_FORM ASM)
    else()
      set(EMBED_FORM C)
    endif()
  endif()
  if(EMBED_FORM STREQUAL "ASM")
    if(NOT CMAKE_EXECUTABLE_FORMAT STREQUAL "ELF")
      message(FATAL_ERROR "thaw_embed_model: FORM ASM writes ELF directives; use FORM C here")
    endif()
    set(extension S)
  elseif(EMBED_FORM STREQUAL "C")
    set(extension c)
  else()
    message(FATAL_ERROR "thaw_embed_model: FORM is C or ASM, not '${EMBED_FORM}'")
  endif()

  if(TARGET thaw_cli)
    set(thaw_command $<TARGET_FILE:thaw_cli>)
    set(thaw_dependency thaw_cli)
  else()
    find_program(THAW_EXECUTABLE thaw REQUIRED)
    set(thaw_command ${THAW_EXECUTABLE})
    set(thaw_dependency ${THAW_EXECUTABLE})
  endif()

  get_filename_component(model_path ${model} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  set(source ${CMAKE_CURRENT_BINARY_DIR}/${target}_${EMBED_SYMBOL}.${extension})
  add_custom_command(
    OUTPUT ${source}
    COMMAND ${thaw_command} embed ${model_path} -o ${source} --symbol ${EMBED_SYMBOL}
    DEPENDS ${model_path} ${thaw_dependency}
    COMMENT "Embedding ${model} in ${target} as ${EMBED_SYMBOL}"
    VERBATIM)
  if(EMBED_FORM STREQUAL "ASM")
    # .incbin is not a dependency the build system can see: name the model explicitly.
    set_source_files_properties(${source} PROPERTIES OBJECT_DEPENDS ${model_path})
  endif()
  target_sources(${target} PRIVATE ${source})
endfunction()
