using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SpikeEngine.Cuda.Interop;

#pragma warning disable CA1707, IDE1006 // C names.

/// <summary>
/// Raw NVRTC (runtime compilation) API. A program is an opaque <see cref="IntPtr"/>; strings
/// cross as UTF-8. Check every status with <see cref="Check"/>.
/// </summary>
public static unsafe partial class Nvrtc
{
    static Nvrtc() => CudaLibraries.EnsureResolver();

    private const string Lib = CudaLibraries.NvrtcLogicalName;

    /// <summary>Throws <see cref="CudaException"/> unless <paramref name="r"/> is success.</summary>
    public static void Check(
        nvrtcResult r,
        [CallerArgumentExpression(nameof(r))] string? expr = null
    )
    {
        if (r != nvrtcResult.NVRTC_SUCCESS)
        {
            throw new CudaException(r, ErrorName(r), expr);
        }
    }

    /// <summary>NVRTC's name for a status (<c>nvrtcGetErrorString</c>), or the enum name.</summary>
    public static string ErrorName(nvrtcResult r)
    {
        try
        {
            var p = nvrtcGetErrorString(r);
            if (p != null)
            {
                return Marshal.PtrToStringUTF8((IntPtr)p) ?? r.ToString();
            }
        }
        catch (DllNotFoundException) { }
        catch (EntryPointNotFoundException) { }
        return r.ToString();
    }

    [LibraryImport(Lib)]
    public static partial byte* nvrtcGetErrorString(nvrtcResult result);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcVersion(int* major, int* minor);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetNumSupportedArchs(int* numArchs);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetSupportedArchs(int* supportedArchs);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcCreateProgram(
        IntPtr* prog,
        byte* src,
        byte* name,
        int numHeaders,
        byte** headers,
        byte** includeNames
    );

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcDestroyProgram(IntPtr* prog);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcCompileProgram(
        IntPtr prog,
        int numOptions,
        byte** options
    );

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetProgramLogSize(IntPtr prog, nuint* logSizeRet);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetProgramLog(IntPtr prog, byte* log);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetPTXSize(IntPtr prog, nuint* ptxSizeRet);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetPTX(IntPtr prog, byte* ptx);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetCUBINSize(IntPtr prog, nuint* cubinSizeRet);

    [LibraryImport(Lib)]
    public static partial nvrtcResult nvrtcGetCUBIN(IntPtr prog, byte* cubin);
}
