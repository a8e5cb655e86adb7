# Installs, checks and uninstalls Gantry's Windows installers on a Windows runner
# (.github/workflows/release.yml), as the runner's own user:
#   - the MSI asks for no elevation, installs into %LOCALAPPDATA%\Programs\Gantry, adds the
#     Start-menu entry and the Start-at-login value; uninstalling removes both and keeps the
#     user's data (%APPDATA%\Gantry);
#   - the NSIS installer does the same in %LOCALAPPDATA%\Gantry.
# Usage: verify-install.ps1 -Msi path\to\Gantry.msi -Nsis path\to\Gantry-setup.exe
param(
  [Parameter(Mandatory = $true)][string]$Msi,
  [Parameter(Mandatory = $true)][string]$Nsis
)
$ErrorActionPreference = 'Stop'
$script:failed = 0
function Check([string]$Name, [bool]$Ok) {
  if ($Ok) { Write-Host "ok   $Name" } else { Write-Host "FAIL $Name"; $script:failed++ }
}

$runKey = 'HKCU:\Software\Microsoft\Windows\CurrentVersion\Run'
$startMenu = [Environment]::GetFolderPath('Programs')
$userData = Join-Path $env:APPDATA 'Gantry'
function RunValue { (Get-ItemProperty -Path $runKey -Name 'gantry-tray' -ErrorAction SilentlyContinue).'gantry-tray' }

# The user's data, as the app would have left it: it must survive every uninstall.
New-Item -ItemType Directory -Force -Path (Join-Path $userData 'data') | Out-Null
Set-Content -Path (Join-Path $userData 'data\keep.txt') -Value 'printers, files and logs'

# --- MSI ---------------------------------------------------------------------------------------
$installer = New-Object -ComObject WindowsInstaller.Installer
$db = $installer.GetType().InvokeMember('OpenDatabase', 'InvokeMethod', $null, $installer, @((Resolve-Path $Msi).Path, 0))
$summary = $db.GetType().InvokeMember('SummaryInformation', 'GetProperty', $null, $db, $null)
$wordCount = $summary.GetType().InvokeMember('Property', 'GetProperty', $null, $summary, 15)
Check 'MSI: the package asks for no elevation (Word Count bit 8)' (($wordCount -band 8) -eq 8)
$view = $db.GetType().InvokeMember('OpenView', 'InvokeMethod', $null, $db, "SELECT ``Value`` FROM ``Property`` WHERE ``Property``='ALLUSERS'")
$view.GetType().InvokeMember('Execute', 'InvokeMethod', $null, $view, $null)
$allUsers = $view.GetType().InvokeMember('Fetch', 'InvokeMethod', $null, $view, $null)
Check 'MSI: ALLUSERS is not set (per user)' ($null -eq $allUsers)
$view.GetType().InvokeMember('Close', 'InvokeMethod', $null, $view, $null)
[void][Runtime.InteropServices.Marshal]::ReleaseComObject($db)

$log = Join-Path $env:RUNNER_TEMP 'gantry-msi-install.log'
$p = Start-Process msiexec.exe -ArgumentList @('/i', "`"$((Resolve-Path $Msi).Path)`"", '/qn', '/l*v', "`"$log`"") -Wait -PassThru
Check "MSI: installs silently (exit $($p.ExitCode))" ($p.ExitCode -eq 0)
$exe = Join-Path $env:LOCALAPPDATA 'Programs\Gantry\gantry-tray.exe'
Check 'MSI: the app is in %LOCALAPPDATA%\Programs\Gantry' (Test-Path $exe)
Check 'MSI: not under Program Files' (-not (Test-Path (Join-Path $env:ProgramFiles 'Gantry')))
Check 'MSI: a Start-menu entry' (Test-Path (Join-Path $startMenu 'Gantry\Gantry.lnk'))
Check "MSI: Start at login is on, quoted, with --autostart ($(RunValue))" ((RunValue) -eq "`"$exe`" --autostart")
$p = Start-Process msiexec.exe -ArgumentList @('/x', "`"$((Resolve-Path $Msi).Path)`"", '/qn') -Wait -PassThru
Check "MSI: uninstalls silently (exit $($p.ExitCode))" ($p.ExitCode -eq 0)
Check 'MSI: uninstall removes the program' (-not (Test-Path $exe))
Check 'MSI: uninstall removes the Start-menu entry' (-not (Test-Path (Join-Path $startMenu 'Gantry')))
Check 'MSI: uninstall removes Start at login' ($null -eq (RunValue))
Check 'MSI: uninstall keeps the user data' (Test-Path (Join-Path $userData 'data\keep.txt'))

# --- NSIS --------------------------------------------------------------------------------------
$p = Start-Process (Resolve-Path $Nsis).Path -ArgumentList '/S' -Wait -PassThru
Check "NSIS: installs silently (exit $($p.ExitCode))" ($p.ExitCode -eq 0)
$exe = Join-Path $env:LOCALAPPDATA 'Gantry\gantry-tray.exe'
Check 'NSIS: the app is in %LOCALAPPDATA%\Gantry' (Test-Path $exe)
Check "NSIS: Start at login is on, quoted, with --autostart ($(RunValue))" ((RunValue) -eq "`"$exe`" --autostart")
$uninstaller = Join-Path $env:LOCALAPPDATA 'Gantry\uninstall.exe'
Check 'NSIS: an uninstaller' (Test-Path $uninstaller)
if (Test-Path $uninstaller) {
  # _?= runs it in place and waits for it, as a silent uninstall from a script needs.
  $p = Start-Process $uninstaller -ArgumentList @('/S', "_?=$(Join-Path $env:LOCALAPPDATA 'Gantry')") -Wait -PassThru
  Check "NSIS: uninstalls silently (exit $($p.ExitCode))" ($p.ExitCode -eq 0)
  Check 'NSIS: uninstall removes the program' (-not (Test-Path $exe))
  Check 'NSIS: uninstall removes Start at login' ($null -eq (RunValue))
  Check 'NSIS: uninstall keeps the user data' (Test-Path (Join-Path $userData 'data\keep.txt'))
}

Write-Host "windows installers: $($script:failed) failed"
if ($script:failed -gt 0) { exit 1 }
