using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using SpikeEngine.Models;
using SpikeEngine.Nn;
using SpikeEngine.Training.Checkpoints;

namespace SpikeEngine.Training.Tests;

/// <summary>
/// The library projects pack into NuGet packages, and the README's C# example,
/// compiled as a console program against those packages only, builds a DANet, trains two steps and
/// saves it. The program is the code block between the README's <c>package-example</c> markers,
/// so the README and this test cannot drift apart.
/// </summary>
public sealed class PackageExampleTests
{
    private static readonly string[] s_libraries =
    [
        "SpikeEngine.Core",
        "SpikeEngine.Cuda",
        "SpikeEngine.Nn",
        "SpikeEngine.Models",
        "SpikeEngine.Data",
        "SpikeEngine.Distributed",
        "SpikeEngine.Training",
        "SpikeEngine.Nir",
    ];

    private static readonly TimeSpan s_commandTimeout = TimeSpan.FromMinutes(8);

    [Fact]
    public void ReadmeExampleRunsAgainstThePackedPackages()
    {
        var repo = RepoRoot();
        // The libraries were built by this test project's build, in its configuration
        // (bin/CONFIG/net10.0): pack those outputs. A version no earlier run used keeps NuGet's
        // global package folder from serving a stale build of ours.
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var version = $"0.1.0-test.t{Guid.NewGuid():N}";
        var root = Path.Combine(
            Path.GetTempPath(),
            "spike-package-test",
            Guid.NewGuid().ToString("N")
        );
        var feed = Path.Combine(root, "feed");
        var app = Path.Combine(root, "app");
        Directory.CreateDirectory(feed);
        Directory.CreateDirectory(app);
        try
        {
            var clock = Stopwatch.StartNew();
            Dotnet(
                repo,
                "pack",
                Path.Combine(repo, "SpikeEngine.sln"),
                "-c",
                configuration,
                "--no-build",
                "-o",
                feed,
                $"-p:PackageVersion={version}",
                "--nologo"
            );
            var packSeconds = clock.Elapsed.TotalSeconds;
            CheckPackages(repo, feed, version);

            File.WriteAllText(
                Path.Combine(app, "nuget.config"),
                $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="spikeengine-under-test" value="{feed}" />
                  </packageSources>
                </configuration>
                """
            );
            File.WriteAllText(
                Path.Combine(app, "App.csproj"),
                $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                    <InvariantGlobalization>true</InvariantGlobalization>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="SpikeEngine.Training" Version="{version}" />
                    <PackageReference Include="SpikeEngine.Cuda" Version="{version}" />
                  </ItemGroup>
                </Project>
                """
            );
            File.WriteAllText(Path.Combine(app, "Program.cs"), ReadmeExample(repo));

            var output = Dotnet(app, "run", "-c", "Release", "--nologo");
            var runSeconds = clock.Elapsed.TotalSeconds - packSeconds;

            var lines = output.Split('\n', StringSplitOptions.TrimEntries);
            var losses = lines
                .Select(l => Regex.Match(l, @"^step (\d+): loss (\S+)$"))
                .Where(m => m.Success)
                .Select(m =>
                    (Step: int.Parse(m.Groups[1].Value), Loss: double.Parse(m.Groups[2].Value))
                )
                .ToList();
            Assert.True(
                losses.Select(l => l.Step).SequenceEqual([0, 1]),
                $"expected 'step 0/1: loss X' lines in the example's output:\n{output}"
            );
            // Cross-entropy over 10 classes of an untrained net: finite, positive, near ln 10.
            Assert.All(losses, l => Assert.True(l.Loss > 0.5 && l.Loss < 20, $"loss {l.Loss}"));
            var saved = lines
                .Select(l => Regex.Match(l, @"^saved (.+)$"))
                .Where(m => m.Success)
                .ToList();
            Assert.True(
                saved.Count == 1,
                $"expected one 'saved PATH' line in the example's output:\n{output}"
            );
            var path = saved[0].Groups[1].Value;
            Assert.Equal(Path.Combine(app, "danet.safetensors"), path);
            Assert.True(File.Exists(path), $"the example printed '{path}' but wrote no file");

            // The file holds every parameter and buffer of the model the example built.
            var (tensors, metadata) = SafeTensors.Read(path);
            Assert.Equal("danet-pre-resnet18", metadata["model"]);
            using var reference = ModelRegistry.Create(
                "danet-pre-resnet18",
                new ModelOptions
                {
                    NumClasses = 10,
                    Stem = Stem.Cifar,
                    Neuron = () => new LifNode(detachReset: true),
                    Seed = 1,
                }
            );
            var expected = reference
                .NamedParameters()
                .Concat(reference.NamedBuffers())
                .ToDictionary(t => t.Name, t => t.Tensor.Shape.ToArray());
            Assert.Equal(expected.Keys.Order(), tensors.Select(t => t.Name).Order());
            foreach (var t in tensors)
                Assert.Equal(expected[t.Name], t.Shape);
            // Two AdamW steps moved the weights away from the same seed's initialisation.
            var fc = tensors.Single(t => t.Name == "fc.weight");
            Assert.Equal([10, 512], fc.Shape);
            Assert.NotEqual(
                reference.NamedParameters().Single(p => p.Name == "fc.weight").Tensor.ToArray(),
                fc.Data
            );
            Console.WriteLine(
                $"PackageExampleTests: pack {packSeconds:F0} s, restore + build + run {runSeconds:F0} s"
            );
        }
        finally
        {
            TryDelete(root);
            // Our test version in NuGet's global package folder is never used again.
            var global =
                Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                ?? Path.Combine(
                    Environment.GetFolderPath(Environment.SpecialFolder.UserProfile),
                    ".nuget",
                    "packages"
                );
            foreach (var id in s_libraries)
            {
                var idDir = Path.Combine(global, id.ToLowerInvariant());
                TryDelete(Path.Combine(idDir, version));
                if (Directory.Exists(idDir) && !Directory.EnumerateFileSystemEntries(idDir).Any())
                    TryDelete(idDir);
            }
        }
    }

    [Fact]
    public void ReadmeExampleIsMarkedAndShort()
    {
        var code = ReadmeExample(RepoRoot());
        Assert.Contains("ModelRegistry.Create(", code);
        Assert.Contains("net.Save(", code);
        Assert.InRange(code.Split('\n').Length, 10, 32);
    }

    /// <summary>The C# block between <c>&lt;!-- package-example:begin --&gt;</c> and <c>:end</c> in README.md.</summary>
    private static string ReadmeExample(string repo)
    {
        var readme = File.ReadAllText(Path.Combine(repo, "README.md")).ReplaceLineEndings("\n");
        var m = Regex.Match(
            readme,
            @"<!-- package-example:begin -->\n```csharp\n(.*?)```\n<!-- package-example:end -->",
            RegexOptions.Singleline
        );
        Assert.True(
            m.Success,
            "README.md has no ```csharp block between the package-example markers"
        );
        return m.Groups[1].Value;
    }

    private static void CheckPackages(string repo, string feed, string version)
    {
        var files = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order().ToList();
        Assert.Equal(s_libraries.Select(id => $"{id}.{version}.nupkg").Order(), files);
        foreach (var id in s_libraries)
        {
            using var zip = ZipFile.OpenRead(Path.Combine(feed, $"{id}.{version}.nupkg"));
            var nuspecEntry = zip.GetEntry($"{id}.nuspec");
            Assert.NotNull(nuspecEntry);
            XDocument nuspec;
            using (var s = nuspecEntry.Open())
                nuspec = XDocument.Load(s);
            string? Meta(string name) =>
                nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            Assert.Equal(id, Meta("id"));
            Assert.Equal(version, Meta("version"));
            Assert.Equal("MIT", Meta("license"));
            Assert.Equal("README.md", Meta("readme"));
            Assert.NotNull(zip.GetEntry("README.md"));
            Assert.False(string.IsNullOrWhiteSpace(Meta("description")));
            Assert.DoesNotContain("layer.", Meta("description")!); // no placeholder text
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.dll"));
            Assert.NotNull(zip.GetEntry($"lib/net10.0/{id}.xml"));
            // Our own dependencies point at packages of the same version.
            foreach (var dep in nuspec.Descendants().Where(e => e.Name.LocalName == "dependency"))
            {
                var depId = dep.Attribute("id")!.Value;
                if (depId.StartsWith("SpikeEngine.", StringComparison.Ordinal))
                    Assert.Equal(version, dep.Attribute("version")!.Value);
            }
        }

        // Every kernel source is an embedded resource of the packed SpikeEngine.Cuda.dll.
        using var cuda = ZipFile.OpenRead(Path.Combine(feed, $"SpikeEngine.Cuda.{version}.nupkg"));
        using var dll = new MemoryStream();
        using (var s = cuda.GetEntry("lib/net10.0/SpikeEngine.Cuda.dll")!.Open())
            s.CopyTo(dll);
        dll.Position = 0;
        using var pe = new PEReader(dll);
        var md = pe.GetMetadataReader();
        var resources = md
            .ManifestResources.Select(h => md.GetString(md.GetManifestResource(h).Name))
            .ToHashSet();
        var kernels = Directory
            .GetFiles(Path.Combine(repo, "kernels"))
            .Where(f =>
                f.EndsWith(".cu", StringComparison.Ordinal)
                || f.EndsWith(".cuh", StringComparison.Ordinal)
            )
            .Select(f => "kernels/" + Path.GetFileName(f))
            .ToList();
        Assert.NotEmpty(kernels);
        Assert.All(kernels, k => Assert.Contains(k, resources));
    }

    /// <summary>Runs <c>dotnet ARGS</c> in <paramref name="dir"/>; returns stdout, fails with both streams.</summary>
    private static string Dotnet(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        // A test host started by MSBuild (dotnet test) passes MSBuild's own variables down; the
        // child builds must not inherit them.
        foreach (var key in psi.Environment.Keys.ToList())
        {
            if (key.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase))
                psi.Environment.Remove(key);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        psi.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (stdout)
                    stdout.AppendLine(e.Data);
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
                lock (stderr)
                    stderr.AppendLine(e.Data);
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(s_commandTimeout))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            Assert.Fail(
                $"'dotnet {string.Join(' ', args)}' ran past {s_commandTimeout.TotalMinutes} minutes:\n{stdout}\n{stderr}"
            );
        }
        p.WaitForExit(); // drains the asynchronous readers
        if (p.ExitCode != 0)
            Assert.Fail(
                $"'dotnet {string.Join(' ', args)}' in {dir} exited with {p.ExitCode}:\n{stdout}\n{stderr}"
            );
        return stdout.ToString();
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "SpikeEngine.sln")))
                return d.FullName;
        }
        throw new InvalidOperationException($"no SpikeEngine.sln above {AppContext.BaseDirectory}");
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
