; Gantry's additions to Tauri's NSIS installer (bundle.windows.nsis.installerHooks).
; The installer is per-user (installMode "currentUser"): no administrator rights, files in
; %LOCALAPPDATA%\Gantry, a Start-menu entry from Tauri's template.
;
; Start at login is on by default after install: the same Run value the app writes
; itself (src-tauri/src/autostart.rs: name "gantry-tray", quoted path, --autostart), so the
; tray's *Start at login* tick shows it and can turn it off.

!define GANTRY_RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"
!define GANTRY_APPROVED_KEY "Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run"
!define GANTRY_RUN_VALUE "gantry-tray"

!macro NSIS_HOOK_POSTINSTALL
  WriteRegStr HKCU "${GANTRY_RUN_KEY}" "${GANTRY_RUN_VALUE}" '"$INSTDIR\gantry-tray.exe" --autostart'
!macroend

!macro NSIS_HOOK_PREUNINSTALL
  ; Quit a running tray first so its files can be removed; it stops the service in order.
  nsExec::Exec 'taskkill /IM gantry-tray.exe'
!macroend

!macro NSIS_HOOK_POSTUNINSTALL
  DeleteRegValue HKCU "${GANTRY_RUN_KEY}" "${GANTRY_RUN_VALUE}"
  DeleteRegValue HKCU "${GANTRY_APPROVED_KEY}" "${GANTRY_RUN_VALUE}"
  ; User data (printers, files, logs in %APPDATA%\Gantry) stays unless the person ticked
  ; "Delete the application data" on the uninstaller's confirmation page.
  ${If} $DeleteAppDataCheckboxState = 1
    RMDir /r "$APPDATA\Gantry"
  ${EndIf}
!macroend
