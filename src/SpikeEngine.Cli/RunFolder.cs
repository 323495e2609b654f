using System.Globalization;

namespace SpikeEngine.Cli;

/// <summary>
/// The default run folder of <c>spike train</c>: <c>runs/&lt;model&gt;-&lt;dataset&gt;-&lt;n&gt;</c>, with n one
/// above the highest n already there (0 for the first run), as Lightning numbers
/// <c>lightning_logs/version_n</c>. A run never writes into an earlier run's folder.
/// </summary>
public static class RunFolder
{
    /// <summary>Creates and returns the next fresh folder under <paramref name="root"/>.</summary>
    public static string Next(string root, string model, string dataset)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentException.ThrowIfNullOrEmpty(dataset);
        var prefix = $"{model}-{dataset}-";
        var next = 0;
        if (Directory.Exists(root))
        {
            foreach (var dir in Directory.EnumerateDirectories(root, prefix + "*"))
            {
                var suffix = Path.GetFileName(dir)[prefix.Length..];
                if (
                    suffix.Length > 0
                    && suffix.All(char.IsAsciiDigit)
                    && int.TryParse(
                        suffix,
                        NumberStyles.None,
                        CultureInfo.InvariantCulture,
                        out var n
                    )
                    && n >= next
                )
                    next = n + 1;
            }
        }
        var path = Path.Combine(root, prefix + next.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(path);
        return path;
    }
}
