"""Compile C and C++ to wasm32-wasi granules: the compiler behind ``faabric cc``.

Uses Debian's wasm toolchain (clang, wasm-ld, wasi-libc, wasm32 compiler-rt,
and libc++ for C++). Only the wasm32-wasi headers are searched, never the
host's glibc ones: a header wasi-libc lacks is a compile error, not a silent
fallback to ``/usr/include``. Calls into the host (``faasm.h``, ``mpi.h``,
``omp.h``) stay undefined and become ``env`` imports.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

from faabric.exceptions import ToolchainError

__all__ = ["include_dirs", "build_command", "compile_wasm"]

SYSROOT = Path("/usr")
WASI_INCLUDE = SYSROOT / "include" / "wasm32-wasi"
WASI_LIB = SYSROOT / "lib" / "wasm32-wasi"
LIBCXX_INCLUDE = WASI_INCLUDE / "c++" / "v1"
CXX_SUFFIXES = frozenset({".cc", ".cpp", ".cxx", ".c++", ".C"})

_C_PACKAGES = "clang lld wasi-libc libclang-rt-dev-wasm32"
# Debian 12 has no unversioned libc++abi-dev-wasm32; libc++-dev-wasm32 pulls it in.
_CXX_PACKAGES = "libc++-dev-wasm32 libc++abi-14-dev-wasm32"
_PACKAGE_ROOT = Path(__file__).resolve().parent
# -fopenmp builds link the guest half of the OpenMP runtime, which wraps
# these libc functions (thread-safe heap growth and stdio; see the file).
OPENMP_GUEST_RUNTIME = _PACKAGE_ROOT.parent / "openmp_shim" / "guest" / "omp_runtime.c"
MPI_GUEST_RUNTIME = _PACKAGE_ROOT.parent / "mpi_shim" / "guest" / "mpi_runtime.c"
OPENMP_WRAPPED = (
    "malloc", "free", "calloc", "realloc", "aligned_alloc", "posix_memalign", "sbrk",
    "__wasi_fd_write", "printf", "fprintf", "vprintf", "vfprintf", "puts", "fputs", "putchar", "putc", "fputc", "fwrite", "fflush",
)


def include_dirs() -> list[Path]:
    """Our guest header directories: faasm's, then MPI's and OpenMP's if present."""
    dirs = [_PACKAGE_ROOT / "include"]
    for shim in ("mpi_shim", "openmp_shim"):
        candidate = _PACKAGE_ROOT.parent / shim / "include"
        if candidate.is_dir():
            dirs.append(candidate)
    return dirs


def _missing(what: Sequence[str], cxx: bool) -> ToolchainError:
    packages = _C_PACKAGES + (" " + _CXX_PACKAGES if cxx else "")
    return ToolchainError(
        f"the wasm32-wasi toolchain is incomplete (missing: {', '.join(what)}); "
        f"install it with: sudo apt-get install {packages}"
    )


def _ask_clang(clang: str, *args: str) -> str:
    result = subprocess.run([clang, *args], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


@functools.lru_cache(maxsize=8)
def _probe(clang: str, cxx: bool) -> str:
    """Checks the toolchain behind ``clang``; returns clang's resource directory."""
    missing = []
    linker = _ask_clang(clang, "--target=wasm32-wasi", "-print-prog-name=wasm-ld")
    if not (linker and (Path(linker).is_file() or shutil.which(linker))):
        missing.append("wasm-ld (lld)")
    if not (WASI_INCLUDE / "stdio.h").is_file() or not (WASI_LIB / "libc.a").is_file():
        missing.append(f"wasi-libc ({WASI_INCLUDE}, {WASI_LIB})")
    builtins = _ask_clang(clang, "--target=wasm32-wasi", "-print-libgcc-file-name")
    if not (builtins and Path(builtins).is_file()):
        missing.append(f"wasm32 compiler-rt ({builtins or 'libclang_rt.builtins-wasm32.a'})")
    if cxx and not all(
        p.is_file()
        for p in (LIBCXX_INCLUDE / "vector", WASI_LIB / "libc++.a", WASI_LIB / "libc++abi.a")
    ):
        missing.append(f"wasm32 libc++/libc++abi ({LIBCXX_INCLUDE})")
    resource_dir = _ask_clang(clang, "-print-resource-dir")
    if not resource_dir or not (Path(resource_dir) / "include" / "stddef.h").is_file():
        missing.append("clang's builtin headers")
    if missing:
        raise _missing(missing, cxx)
    return resource_dir


def build_command(
    sources: Sequence[str | Path],
    output: str | Path | None = None,
    extra_flags: Sequence[str] = (),
) -> list[str]:
    """The clang command line that compiles ``sources`` to one wasm module.

    Raises ToolchainError if the toolchain is missing or incomplete.
    """
    if not sources:
        raise ToolchainError("no source files given")
    paths = [Path(s) for s in sources]
    cxx = any(p.suffix in CXX_SUFFIXES for p in paths)
    clang = shutil.which("clang++" if cxx else "clang")
    if clang is None:
        raise _missing(["clang++" if cxx else "clang"], cxx)
    resource_dir = Path(_probe(clang, cxx))
    out = Path(output) if output is not None else paths[0].with_suffix(".wasm")

    # -nostdinc drops every default search path (including /usr/include);
    # add back only the wasm ones, libc++ first so its #include_next works.
    system = ([LIBCXX_INCLUDE] if cxx else []) + [resource_dir / "include", WASI_INCLUDE]
    cmd = [clang, "--target=wasm32-wasi", f"--sysroot={SYSROOT}", "-nostdinc"]
    if cxx:
        cmd.append("-nostdinc++")
    for directory in system:
        cmd += ["-isystem", str(directory)]
    cmd += [f"-I{d}" for d in include_dirs()]
    # LLVM's cost model for wasm interleaves vectorised loops at most twice; Cranelift
    # then leaves x86's vector registers idle. Four, as LLVM picks for x86 itself, makes
    # matmul/stencil kernels 10-20% faster (``faabric bench omp``).
    cmd += ["-O2", "-msimd128", "-mllvm", "-force-vector-interleave=4"]
    if cxx:
        cmd.append("-fno-exceptions")
    # Real atomic instructions on ordinary (unshared) memory: OpenMP threads share pages,
    # and so do MPI ranks' rings. wasi-libc's errno is _Thread_local; with atomics on,
    # clang needs this model for it (it stays one plain global, as in the non-threaded libc).
    cmd += ["-matomics", "-mbulk-memory", "-ftls-model=local-exec"]
    openmp = "-fopenmp" in extra_flags
    if openmp:
        # Without --shared-memory the module has one TLS block for all threads:
        # threadprivate variables go through __kmpc_threadprivate_cached instead.
        cmd.append("-fnoopenmp-use-tls")
        # --undefined pulls each real function in: wasm-ld skips wrapping a symbol nothing else names.
        cmd += [f"-Wl,--wrap={symbol},--undefined={symbol}" for symbol in OPENMP_WRAPPED]
    cmd += ["-Wl,--allow-undefined", "-Wl,--export-table"]
    if not any(flag.startswith("-g") for flag in extra_flags):
        # Debian's libc.a carries DWARF: it would make modules ~6x larger.
        # The "name" section stays, so traps still show function names.
        cmd.append("-Wl,--strip-debug")
    cmd += list(extra_flags)
    cmd += [str(p) for p in paths]
    if not {"-c", "-S", "-E"} & set(extra_flags):  # linking: add the runtimes' guest halves (unused code is dropped)
        cmd += ["-x", "c", str(MPI_GUEST_RUNTIME)]
        if openmp:
            cmd.append(str(OPENMP_GUEST_RUNTIME))
        cmd += ["-x", "none"]
    cmd += ["-o", str(out)]
    return cmd


def compile_wasm(
    sources: Sequence[str | Path],
    output: str | Path | None = None,
    extra_flags: Sequence[str] = (),
) -> Path:
    """Compiles C or C++ ``sources`` to a wasm32-wasi module and returns its path.

    The output defaults to the first source with a ``.wasm`` suffix. Raises
    ToolchainError if the toolchain is missing or the compiler fails (the
    message then carries clang's diagnostics).
    """
    cmd = build_command(sources, output, extra_flags)
    out = Path(cmd[-1])
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        raise ToolchainError(f"could not run {cmd[0]}: {exc}") from exc
    if result.returncode != 0:
        names = ", ".join(str(s) for s in sources)
        raise ToolchainError(
            f"compiling {names} failed (exit {result.returncode}):\n{result.stderr.strip()}"
        )
    return out
