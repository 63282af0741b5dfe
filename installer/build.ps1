# Build the MixGUI installer folder on Windows and smoke-test it.
#
#   powershell -ExecutionPolicy Bypass -File installer\build.ps1            # venv in build\venv, build, smoke test
#   powershell -ExecutionPolicy Bypass -File installer\build.ps1 -NoSmoke   # build only
#
# $env:PYTHON (default: py -3.11 when the py launcher exists, else python) creates the venv;
# $env:MIXGUI_VENV uses another venv. Result: dist\mixgui\mixgui.exe (the window) and
# dist\mixgui\mixgui-cli.exe (the same program with a console: mixgui-cli fit analysis.json).
param([switch]$NoSmoke, [string]$Platform = "offscreen")
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..")

function Invoke-Checked {
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

$venv = if ($env:MIXGUI_VENV) { $env:MIXGUI_VENV } else { "build\venv" }
$py = Join-Path $venv "Scripts\python.exe"
if (-not (Test-Path $py)) {
    if ($env:PYTHON) { $base = @($env:PYTHON) }
    elseif (Get-Command py -ErrorAction SilentlyContinue) { $base = @("py", "-3.11") }
    else { $base = @("python") }
    Write-Host "== creating $venv with $($base -join ' ')"
    $extra = @($base | Select-Object -Skip 1)
    Invoke-Checked $base[0] ($extra + @("-m", "venv", $venv))
}
Invoke-Checked $py @("-c", "import sys; sys.exit(sys.version_info < (3, 11))")

Write-Host "== installing MixGUI with the build, spss and reports extras"
Invoke-Checked $py @("-m", "pip", "install", "-q", "--upgrade", "pip")
Invoke-Checked $py @("-m", "pip", "install", "-q", "-e", ".[build]")

if (-not (Test-Path "installer\icons\mixgui.ico")) { Invoke-Checked $py @("installer\make_icons.py") }

Write-Host "== pyinstaller"
$sw = [Diagnostics.Stopwatch]::StartNew()
Invoke-Checked $py @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
                     "--distpath", "dist", "--workpath", "build", "installer\mixgui.spec")
$size = (Get-ChildItem -Recurse -File "dist\mixgui" | Measure-Object -Property Length -Sum).Sum / 1MB
Write-Host ("== built in {0:N0} s: {1:N0} MiB in dist\mixgui" -f $sw.Elapsed.TotalSeconds, $size)

if (-not $NoSmoke) {
    Write-Host "== smoke test"
    Invoke-Checked $py @("installer\smoke_test.py", "--dist", "dist\mixgui", "--platform", $Platform,
                         "--json-report", "dist\smoke-report.json")
}
