# Cross build for 64-bit Arm Linux (Graviton-class servers) with Debian's gcc-aarch64-linux-gnu,
# tests run by ctest under qemu-aarch64 (Debian qemu-user). The test libraries come from an
# arm64 sysroot folder that scripts/fetch-arm64-deps.sh fills from Debian's arm64 .deb files;
# pkg-config looks only there, so no host x86-64 library can be picked. scripts/test-arm64.sh
# does all of it:
#
#   scripts/fetch-arm64-deps.sh build/arm64/arm64-sysroot
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#   cmake --build build/arm64 && ctest --test-dir build/arm64
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(THAW_CROSS_LIBC /usr/aarch64-linux-gnu) # Debian libc6-dev-arm64-cross

set(THAW_ARM64_SYSROOT "${CMAKE_BINARY_DIR}/arm64-sysroot" CACHE PATH
    "Folder the arm64 .deb files are unpacked into (scripts/fetch-arm64-deps.sh)")
# The CPU qemu emulates, which decides what getauxval(AT_HWCAP) reports: neoverse-n1 has the
# dotprod extension (Graviton 2), cortex-a72 is plain Armv8.0 (Graviton 1).
set(THAW_QEMU_CPU neoverse-n1 CACHE STRING "qemu-aarch64 -cpu model for the tests")
# CMake reads this file again for each try_compile, in a scratch binary folder and the same
# process: hand it the same sysroot, or it would point pkg-config's environment elsewhere.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES THAW_ARM64_SYSROOT THAW_QEMU_CPU)

set(CMAKE_FIND_ROOT_PATH ${THAW_CROSS_LIBC} ${THAW_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER) # protoc-c and the like run on the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(ENV{PKG_CONFIG_LIBDIR}
    "${THAW_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${THAW_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${THAW_ARM64_SYSROOT}")

# Debian's arm64 packages put architecture-specific headers (sleef.h) in the multiarch folder,
# which only a native arm64 compiler searches by itself.
set(CMAKE_C_STANDARD_INCLUDE_DIRECTORIES ${THAW_ARM64_SYSROOT}/usr/include/aarch64-linux-gnu)

# -L gives qemu the arm64 dynamic loader and libc; -E the unpacked libraries to the loader.
set(CMAKE_CROSSCOMPILING_EMULATOR
    qemu-aarch64 -cpu ${THAW_QEMU_CPU} -L ${THAW_CROSS_LIBC}
    -E LD_LIBRARY_PATH=${THAW_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu)
