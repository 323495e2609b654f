#!/usr/bin/env pwsh
# SpikeEngine build entry point. Run from a fresh clone with only the .NET SDK:
#   dotnet tool restore
#   dotnet pwsh build.ps1 <target> [-- extra args]
# Targets: build, test, format, format-check, bench, train, info, data, kernels, gpu-bundle, pack
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
    Invoke-Native dotnet @('run', '--project', 'src/SpikeEngine.Cli', '-c', $Configuration, '--no-launch-profile', '--', @Arguments)
}

# Runs every test project and prints one closing line "N passed, N failed, N skipped".
function Invoke-Test {
    Invoke-Build
    $passed = 0; $failed = 0; $skipped = 0; $bad = @()
    $projects = Get-ChildItem -Path (Join-Path $Root 'tests') -Filter '*.Tests.csproj' -Recurse | Sort-Object Name
    foreach ($p in $projects) {
        $name = $p.BaseName
        $exe = Join-Path $p.DirectoryName "bin/$Configuration/net10.0/$name.dll"
        Write-Host "== $name" -ForegroundColor Cyan
        $out = & dotnet $exe -noColor 2>&1
        $code = $LASTEXITCODE
        $out | ForEach-Object { Write-Host $_ }
        $text = ($out | Out-String)
        if ($text -match 'Total:\s*(\d+),\s*Errors:\s*(\d+),\s*Failed:\s*(\d+),\s*Skipped:\s*(\d+),\s*Not Run:\s*(\d+)') {
            $total = [int]$Matches[1]; $f = [int]$Matches[3] + [int]$Matches[2]; $s = [int]$Matches[4] + [int]$Matches[5]
            $failed += $f; $skipped += $s; $passed += $total - [int]$Matches[3] - $s
        } else { $bad += "$name (no summary)" }
        if ($code -ne 0) { $bad += "$name (exit $code)" }
    }
    Write-Host ''
    Write-Host "tests: $passed passed, $failed failed, $skipped skipped"
    if ($bad.Count -gt 0) { throw "test projects failed: $($bad -join ', ')" }
    if ($passed -eq 0) { throw 'no test ran' }
}

switch ($Target) {
    'build' { Invoke-Build }
    'test' { Invoke-Test }
    'format' { Invoke-Native dotnet @('csharpier', 'format', '.') }
    'format-check' { Invoke-Native dotnet @('csharpier', 'check', '.') }
    'bench' {
        Invoke-Native dotnet @('run', '--project', 'benchmarks/SpikeEngine.Benchmarks', '-c', 'Release', '--', @Rest)
    }
    'info' { Invoke-Spike (@('info') + $Rest) }
    'train' { Invoke-Spike (@('info') + $Rest) }
    default { throw "unknown target '$Target' (build, test, format, format-check, bench, train, info)" }
}
