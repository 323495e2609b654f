using SpikeEngine.Training.Metrics;

namespace SpikeEngine.Training.Tests;

public sealed class CurvePlotTests
{
    [Fact]
    public void A_native_library_missing_inside_type_initializers_is_recognised_with_its_dependency()
    {
        // The shape seen on a machine without fontconfig: ScottPlot's font table fails to
        // initialise because SkiaSharp's native library cannot load its dependency.
        var e = new TypeInitializationException(
            "ScottPlot.Fonts",
            new TypeInitializationException(
                "SkiaSharp.SkiaApi",
                new DllNotFoundException(
                    "Unable to load shared library 'libSkiaSharp' or one of its dependencies. In order to "
                        + "help diagnose loading problems, consider using a tool like strace.\n"
                        + "libfontconfig.so.1: cannot open shared object file: No such file or directory\n"
                        + "libSkiaSharp.so: cannot open shared object file: No such file or directory"
                )
            )
        );
        var why = CurvePlot.MissingNativeLibrary(e);
        Assert.NotNull(why);
        Assert.Contains("libSkiaSharp", why);
        Assert.Contains("libfontconfig.so.1", why);
        Assert.Equal(
            "Unable to load shared library 'libSkiaSharp' or one of its dependencies; "
                + "libfontconfig.so.1: cannot open shared object file: No such file or directory",
            why
        );
    }

    [Fact]
    public void Other_failures_are_not_taken_for_a_missing_library()
    {
        Assert.Null(CurvePlot.MissingNativeLibrary(new IOException("disk full")));
        Assert.Null(
            CurvePlot.MissingNativeLibrary(
                new TypeInitializationException("X", new InvalidOperationException("bad"))
            )
        );
    }
}
