using Xunit;

namespace SpikeEngine.Testing;

/// <summary>
/// Visible skips for tests that need a library the machine may lack: the test skips with the
/// reason, never passes; in CI (CI=true), whose script installs the library, its absence fails.
/// </summary>
public static class Require
{
    public static bool InCi =>
        string.Equals(
            Environment.GetEnvironmentVariable("CI"),
            "true",
            StringComparison.OrdinalIgnoreCase
        );

    /// <summary>Skips with <paramref name="reason"/>, or fails with it in CI.</summary>
    public static void MissingInstall(string reason)
    {
        if (InCi)
            Assert.Fail("CI=true but " + reason);
        Assert.Skip(reason);
    }
}
