using SpikeEngine.Cuda.Interop;

namespace SpikeEngine.Cuda.Tests;

/// <summary>Library discovery and error reporting, which must work with nothing installed.</summary>
public sealed class CudaLibrariesTests
{
    [Fact]
    public void Probe_reports_every_library_with_a_path_or_a_reason_and_never_throws()
    {
        var reports = CudaLibraries.Probe();
        Assert.Equal(Enum.GetValues<CudaLibrary>(), reports.Select(r => r.Library));
        foreach (var r in reports)
        {
            Requirements.Log(
                $"{r.Library, -7} {(r.Found ? "found" : "missing")}: {r.Path ?? "-"} {r.Version ?? ""} {r.Detail}"
            );
            if (r.Found)
            {
                Assert.False(string.IsNullOrEmpty(r.Path));
            }
            else
            {
                Assert.Null(r.Path);
                Assert.False(string.IsNullOrWhiteSpace(r.Detail));
            }
        }
    }

    [Fact]
    public void The_override_folders_come_first()
    {
        var dirs = CudaLibraries.SearchDirectories();
        var env = Environment.GetEnvironmentVariable(CudaLibraries.LibDirsVariable);
        if (string.IsNullOrEmpty(env))
        {
            Assert.Skip($"{CudaLibraries.LibDirsVariable} is not set in this run");
        }
        var first = Path.GetFullPath(
            env.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)[0]
        );
        Assert.Equal(first, dirs[0]);
    }

    [Fact]
    public void Availability_never_throws_and_gives_a_reason_when_false()
    {
        var available = CudaRuntime.IsAvailable;
        Requirements.Log(
            $"CUDA available: {available}; {CudaRuntime.UnavailableReason ?? $"{CudaRuntime.DeviceCount} device(s)"}"
        );
        Assert.Equal(available, CudaRuntime.UnavailableReason is null);
        Assert.Equal(available, CudaRuntime.DeviceCount > 0);
    }

    [Fact]
    public void The_checker_carries_the_status_its_name_and_the_failing_call()
    {
        var e = Assert.Throws<CudaException>(() =>
            Nvrtc.Check(nvrtcResult.NVRTC_ERROR_INVALID_OPTION)
        );
        Assert.Equal(nvrtcResult.NVRTC_ERROR_INVALID_OPTION, e.Status);
        Assert.Equal("nvrtcResult.NVRTC_ERROR_INVALID_OPTION", e.Expression);
        Assert.Contains("NVRTC_ERROR_INVALID_OPTION", e.ErrorName);
        Assert.Contains("(5) from nvrtcResult.NVRTC_ERROR_INVALID_OPTION", e.Message);

        var d = Assert.Throws<CudaException>(() =>
            CudaDriver.Check(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS)
        );
        Assert.Equal(CUresult.CUDA_ERROR_ILLEGAL_ADDRESS, d.Status);
        Assert.Contains("CUDA_ERROR_ILLEGAL_ADDRESS", d.ErrorName); // from cuGetErrorName, or the enum without a driver
        CudaDriver.Check(CUresult.CUDA_SUCCESS);
    }
}
