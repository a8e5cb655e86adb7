; HEADER_BLOCK_START
; BambuStudio 01.08.04.51
; model printing time: 1h 2m 3s; total estimated time: 1h 10m 3s
; total layer number: 120
; total filament length [mm] : 1234.56
; total filament volume [cm^3] : 2.97
; total filament weight [g] : 3.68
; filament_density: 1.24
; filament_diameter: 1.75
; max_z_height: 24.00
; HEADER_BLOCK_END

; THUMBNAIL_BLOCK_START
; thumbnail begin 16x16 108
; iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAF0lEQVR4nGP438BAEiJN9aiGUQ1DSg
; MAnHV/EBlpJJcAAAAASUVORK5CYII=
; thumbnail end
;
; THUMBNAIL_BLOCK_END

; EXECUTABLE_BLOCK_START
M73 P0 R70
M73 L1
M991 S0 P0 ;notify layer change
M140 S55
M104 S220
M190 S55
M109 S220
G90
M83
; CHANGE_LAYER
; Z_HEIGHT: 0.2
; LAYER_HEIGHT: 0.2
G1 Z.2
G1 X100.000 Y100.000 E0.04000
G1 X101.500 Y100.750 E0.04000
G1 X103.000 Y101.500 E0.04000
M73 P1 R69
; CHANGE_LAYER
; Z_HEIGHT: 0.4
; LAYER_HEIGHT: 0.2
G1 Z.4
G1 X100.000 Y100.000 E0.04000
G1 X101.500 Y100.750 E0.04000
G1 X103.000 Y101.500 E0.04000
; EXECUTABLE_BLOCK_END

; CONFIG_BLOCK_START
; curr_bed_type = Cool Plate
; cool_plate_temp = 35
; cool_plate_temp_initial_layer = 40
; filament_type = PLA;PETG
; hot_plate_temp = 55
; initial_layer_print_height = 0.2
; layer_height = 0.2
; nozzle_diameter = 0.4
; nozzle_temperature = 220,240
; nozzle_temperature_initial_layer = 220,240
; CONFIG_BLOCK_END
