using System.Reflection;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda.Interop;

/// <summary>The four native libraries the CUDA layer binds.</summary>
public enum CudaLibrary
{
    /// <summary>The driver API, <c>libcuda.so.1</c> (installed with the NVIDIA driver).</summary>
    Driver,

    /// <summary>Runtime compilation, <c>libnvrtc.so.13/.12/.11.2</c> with its <c>libnvrtc-builtins</c>.</summary>
    Nvrtc,

    /// <summary>BLAS, <c>libcublas.so.13/.12/.11</c> after its <c>libcublasLt</c>.</summary>
    Cublas,

    /// <summary>Deep-learning primitives, <c>libcudnn.so.9</c> after its sub-libraries.</summary>
    Cudnn,
}

/// <summary>Where one native library was found, or why it wasn't; printed by <c>spike info</c>.</summary>
/// <param name="Library">Which library.</param>
/// <param name="Found">Whether it loaded.</param>
/// <param name="Path">The file loaded (an absolute path, or the soname the system loader resolved).</param>
/// <param name="Version">The library's own version where it reports one without a device, else null.</param>
/// <param name="Detail">What else was loaded with it, or the reason it was not found.</param>
public sealed record NativeLibraryReport(
    CudaLibrary Library,
    bool Found,
    string? Path,
    string? Version,
    string Detail
);

/// <summary>
/// Finds and loads the CUDA libraries for the <c>[LibraryImport]</c> declarations through
/// <see cref="NativeLibrary.SetDllImportResolver"/>. Search order: the folders in
/// <c>SPIKEENGINE_CUDA_LIB_DIRS</c> (a path list), then the system library folders and
/// <c>LD_LIBRARY_PATH</c>, <c>/usr/local/nvidia/lib64</c>, <c>/usr/local/cuda*/lib64</c>, and the
/// pip NVIDIA wheels' <c>site-packages/nvidia/*/lib</c> folders of the Python environments it can
/// see; last the system loader by soname. Nothing here throws when nothing is installed.
/// </summary>
public static class CudaLibraries
{
    public const string DriverLogicalName = "spikeengine-cuda";
    public const string NvrtcLogicalName = "spikeengine-nvrtc";
    public const string CublasLogicalName = "spikeengine-cublas";
    public const string CudnnLogicalName = "spikeengine-cudnn";

    /// <summary>Path list (<c>:</c> on Linux) of folders searched before any other.</summary>
    public const string LibDirsVariable = "SPIKEENGINE_CUDA_LIB_DIRS";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<CudaLibrary, LoadResult> Loaded = [];
    private static bool resolverInstalled;

    private sealed record LoadResult(IntPtr Handle, string? Path, string Detail);

    /// <summary>Installs the resolver for this assembly's imports; called by each binding class's static constructor.</summary>
    public static void EnsureResolver()
    {
        lock (Gate)
        {
            if (resolverInstalled)
            {
                return;
            }
            NativeLibrary.SetDllImportResolver(typeof(CudaLibraries).Assembly, Resolve);
            resolverInstalled = true;
        }
    }

    private static IntPtr Resolve(
        string name,
        Assembly assembly,
        DllImportSearchPath? searchPath
    ) =>
        name switch
        {
            DriverLogicalName => Load(CudaLibrary.Driver).Handle,
            NvrtcLogicalName => Load(CudaLibrary.Nvrtc).Handle,
            CublasLogicalName => Load(CudaLibrary.Cublas).Handle,
            CudnnLogicalName => Load(CudaLibrary.Cudnn).Handle,
            _ => IntPtr.Zero,
        };

    /// <summary>Whether <paramref name="library"/> can be loaded (loads it on first call).</summary>
    public static bool IsLoadable(CudaLibrary library) => Load(library).Handle != IntPtr.Zero;

    /// <summary>
    /// Loads (once) and reports every library: the path found or why it was not found, and the
    /// version where the library reports one without a device. Never throws.
    /// </summary>
    public static IReadOnlyList<NativeLibraryReport> Probe()
    {
        EnsureResolver();
        var reports = new List<NativeLibraryReport>();
        foreach (var library in Enum.GetValues<CudaLibrary>())
        {
            var r = Load(library);
            var found = r.Handle != IntPtr.Zero;
            reports.Add(
                new NativeLibraryReport(
                    library,
                    found,
                    r.Path,
                    found ? VersionOf(library) : null,
                    r.Detail
                )
            );
        }
        return reports;
    }

    private static unsafe string? VersionOf(CudaLibrary library)
    {
        try
        {
            switch (library)
            {
                case CudaLibrary.Driver:
                {
                    int v;
                    return CudaDriver.cuDriverGetVersion(&v) == CUresult.CUDA_SUCCESS
                        ? $"CUDA {v / 1000}.{v % 1000 / 10}"
                        : null;
                }
                case CudaLibrary.Nvrtc:
                {
                    int major,
                        minor;
                    return Nvrtc.nvrtcVersion(&major, &minor) == nvrtcResult.NVRTC_SUCCESS
                        ? $"NVRTC {major}.{minor}"
                        : null;
                }
                case CudaLibrary.Cudnn:
                {
                    var v = (ulong)Cudnn.cudnnGetVersion();
                    return $"cuDNN {v / 10000}.{v % 10000 / 100}.{v % 100}";
                }
                default:
                    return null; // cuBLAS reports its version only through a handle (needs a device).
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    private static LoadResult Load(CudaLibrary library)
    {
        lock (Gate)
        {
            if (!Loaded.TryGetValue(library, out var r))
            {
                r = library switch
                {
                    CudaLibrary.Driver => LoadFirst(["libcuda.so.1"], _ => null),
                    CudaLibrary.Nvrtc => LoadFirst(
                        ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"],
                        PreloadNvrtcBuiltins
                    ),
                    CudaLibrary.Cublas => LoadFirst(
                        ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11"],
                        PreloadCublasLt
                    ),
                    _ => LoadFirst(["libcudnn.so.9"], PreloadCudnnSublibraries),
                };
                Loaded[library] = r;
            }
            return r;
        }
    }

    /// <summary>
    /// Tries each folder in order (so the override folders win), each name newest first, then the
    /// system loader by soname.
    /// <paramref name="preload"/> runs first on a candidate and returns what it loaded beside it.
    /// </summary>
    private static LoadResult LoadFirst(string[] names, Func<string, string?> preload)
    {
        var dirs = SearchDirectories();
        var failures = new List<string>();
        foreach (var dir in dirs)
        {
            foreach (var name in names)
            {
                var path = System.IO.Path.Combine(dir, name);
                if (!File.Exists(path))
                {
                    continue;
                }
                var extra = preload(path);
                if (NativeLibrary.TryLoad(path, out var handle))
                {
                    return new LoadResult(handle, path, extra ?? "");
                }
                failures.Add(
                    $"{path} exists but failed to load (wrong architecture or a missing dependency)"
                );
            }
        }
        foreach (var name in names)
        {
            if (NativeLibrary.TryLoad(name, out var handle))
            {
                return new LoadResult(handle, name, "resolved by the system loader (ld.so cache)");
            }
        }
        var reason =
            $"none of {string.Join(", ", names)} found in {dirs.Count} folders ({LibDirsVariable}, system, "
            + "LD_LIBRARY_PATH, /usr/local/cuda*, /usr/local/nvidia, pip site-packages/nvidia/*/lib) nor by the system loader";
        if (failures.Count > 0)
        {
            reason += "; " + string.Join("; ", failures);
        }
        return new LoadResult(IntPtr.Zero, null, reason);
    }

    // libnvrtc dlopens its builtins by soname: load the builtins of the same major version from the
    // same folder first, by absolute path, so that lookup finds the one already loaded.
    private static string? PreloadNvrtcBuiltins(string nvrtcPath)
    {
        var dir = System.IO.Path.GetDirectoryName(nvrtcPath)!;
        var file = System.IO.Path.GetFileName(nvrtcPath);
        var major = file["libnvrtc.so.".Length..].Split('.')[0];
        var builtins = Directory
            .EnumerateFiles(dir, $"libnvrtc-builtins.so.{major}.*")
            .OrderBy(p => p.Length)
            .ThenBy(p => p, StringComparer.Ordinal)
            .FirstOrDefault();
        if (builtins is null)
        {
            return $"no libnvrtc-builtins.so.{major}.* beside it (compiles will fail)";
        }
        return NativeLibrary.TryLoad(builtins, out _)
            ? $"with {builtins}"
            : $"{builtins} failed to load";
    }

    private static string? PreloadCublasLt(string cublasPath)
    {
        var lt = cublasPath.Replace("libcublas.so", "libcublasLt.so", StringComparison.Ordinal);
        if (!File.Exists(lt))
        {
            return "no libcublasLt beside it (the system loader must find it)";
        }
        return NativeLibrary.TryLoad(lt, out _) ? $"with {lt}" : $"{lt} failed to load";
    }

    // The cuDNN 9 shim dlopens its sub-libraries by soname at first use; load those beside it first.
    private static string? PreloadCudnnSublibraries(string cudnnPath)
    {
        var dir = System.IO.Path.GetDirectoryName(cudnnPath)!;
        string[] order =
        [
            "graph",
            "engines_runtime_compiled",
            "engines_precompiled",
            "heuristic",
            "ops",
            "cnn",
            "adv",
        ];
        var loaded = new List<string>();
        foreach (var sub in order)
        {
            var path = System.IO.Path.Combine(dir, $"libcudnn_{sub}.so.9");
            if (File.Exists(path) && NativeLibrary.TryLoad(path, out _))
            {
                loaded.Add(sub);
            }
        }
        return loaded.Count > 0
            ? $"with sub-libraries {string.Join(", ", loaded)}"
            : "no sub-libraries beside it";
    }

    /// <summary>The folders searched, in order, without duplicates or missing folders.</summary>
    public static IReadOnlyList<string> SearchDirectories()
    {
        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string? dir)
        {
            if (string.IsNullOrWhiteSpace(dir))
            {
                return;
            }
            var full = System.IO.Path.GetFullPath(dir);
            if (Directory.Exists(full) && seen.Add(full))
            {
                result.Add(full);
            }
        }

        foreach (var d in SplitPathList(Environment.GetEnvironmentVariable(LibDirsVariable)))
        {
            Add(d);
        }
        foreach (var d in SplitPathList(Environment.GetEnvironmentVariable("LD_LIBRARY_PATH")))
        {
            Add(d);
        }
        foreach (
            var d in new[]
            {
                "/usr/lib/x86_64-linux-gnu",
                "/lib/x86_64-linux-gnu",
                "/usr/lib64",
                "/lib64",
                "/usr/lib",
                "/lib",
                "/usr/lib/wsl/lib",
                "/usr/local/nvidia/lib64",
                "/usr/local/nvidia/lib",
                "/usr/local/cuda/lib64",
                "/usr/local/cuda/targets/x86_64-linux/lib",
            }
        )
        {
            Add(d);
        }
        foreach (
            var d in Glob("/usr/local", "cuda-*").OrderByDescending(d => d, StringComparer.Ordinal)
        )
        {
            Add(System.IO.Path.Combine(d, "lib64"));
            Add(System.IO.Path.Combine(d, "targets/x86_64-linux/lib"));
        }
        foreach (var sitePackages in PythonSitePackages())
        {
            foreach (var pkg in Glob(System.IO.Path.Combine(sitePackages, "nvidia"), "*"))
            {
                Add(System.IO.Path.Combine(pkg, "lib"));
            }
        }
        return result;
    }

    /// <summary>Python <c>site-packages</c> folders of the environments visible from here (no Python is run).</summary>
    public static IReadOnlyList<string> PythonSitePackages()
    {
        var prefixes = new List<string>();
        var venv = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        if (!string.IsNullOrEmpty(venv))
        {
            prefixes.Add(venv);
        }
        var conda = Environment.GetEnvironmentVariable("CONDA_PREFIX");
        if (!string.IsNullOrEmpty(conda))
        {
            prefixes.Add(conda);
        }
        // A python on PATH at PREFIX/bin/python3 has its packages under PREFIX/lib/python3.*.
        foreach (var dir in SplitPathList(Environment.GetEnvironmentVariable("PATH")))
        {
            if (
                File.Exists(System.IO.Path.Combine(dir, "python3"))
                || File.Exists(System.IO.Path.Combine(dir, "python"))
            )
            {
                var parent = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(dir));
                if (parent is not null)
                {
                    prefixes.Add(parent);
                }
            }
        }
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        if (!string.IsNullOrEmpty(home))
        {
            prefixes.AddRange(Glob(System.IO.Path.Combine(home, ".pyenv/versions"), "*"));
            prefixes.Add(System.IO.Path.Combine(home, ".local"));
            prefixes.Add(System.IO.Path.Combine(home, ".venv"));
        }
        prefixes.AddRange(
            Glob("/opt", "*").SelectMany(o => new[] { System.IO.Path.Combine(o, ".venv"), o })
        );
        prefixes.Add("/usr/local");
        prefixes.Add("/usr");

        var result = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var prefix in prefixes)
        {
            foreach (var lib in new[] { "lib", "lib64" })
            {
                foreach (var py in Glob(System.IO.Path.Combine(prefix, lib), "python3*"))
                {
                    foreach (var leaf in new[] { "site-packages", "dist-packages" })
                    {
                        var sp = System.IO.Path.Combine(py, leaf);
                        if (Directory.Exists(sp) && seen.Add(sp))
                        {
                            result.Add(sp);
                        }
                    }
                }
            }
        }
        return result;
    }

    private static IEnumerable<string> SplitPathList(string? list) =>
        string.IsNullOrEmpty(list)
            ? []
            : list.Split(
                System.IO.Path.PathSeparator,
                StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries
            );

    private static IEnumerable<string> Glob(string dir, string pattern)
    {
        try
        {
            return Directory.Exists(dir) ? Directory.GetDirectories(dir, pattern) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
