namespace SpikeEngine.Cuda.Interop;

/// <summary>
/// A native CUDA library call failed. Carries the library's status enum value
/// (<see cref="CUresult"/>, <see cref="nvrtcResult"/>, <see cref="cublasStatus_t"/> or
/// <see cref="cudnnStatus_t"/>), the library's own name for it, and the C# text of the failing
/// call, the way llm.c's <c>cudaCheck</c> carries file and line.
/// </summary>
public class CudaException : Exception
{
    public CudaException(Enum status, string errorName, string? expression, string? detail = null)
        : base(Format(status, errorName, expression, detail))
    {
        Status = status;
        ErrorName = errorName;
        Expression = expression ?? "";
    }

    /// <summary>The status enum value the call returned.</summary>
    public Enum Status { get; }

    /// <summary>The library's name for the status, e.g. <c>CUDA_ERROR_OUT_OF_MEMORY</c>.</summary>
    public string ErrorName { get; }

    /// <summary>The C# text of the failing call, e.g. <c>CudaDriver.cuMemAlloc_v2(&amp;ptr, bytes)</c>.</summary>
    public string Expression { get; }

    private static string Format(Enum status, string errorName, string? expression, string? detail)
    {
        var text =
            $"{status.GetType().Name} {errorName} ({Convert.ToInt64(status, System.Globalization.CultureInfo.InvariantCulture)}) from {expression ?? "<unknown call>"}";
        return detail is null ? text : $"{text}: {detail}";
    }
}
