;FLAVOR:Marlin
;TIME:6666
;Filament used: 1.23456m
;Layer height: 0.12
;MINX:80.5
;MINY:80.5
;MINZ:0.3
;MAXX:139.5
;MAXY:139.5
;MAXZ:10.2
;TARGET_MACHINE.NAME:Creality Ender-3
;Generated with Cura_SteamEngine 5.6.0
M140 S60
M105
M190 S60
M104 S200
M105
M109 S200
M82 ;absolute extrusion mode
G28 ;Home
G92 E0
G1 Z2.0 F3000
G1 X0.1 Y20 Z0.3 F5000.0
G1 X0.1 Y200.0 Z0.3 F1500.0 E15
G92 E0
G92 E0
;LAYER_COUNT:2
;LAYER:0
M107
G0 F6000 X90 Y90 Z0.3
;TYPE:SKIRT
G1 X100.000 Y100.000 E0.04000
G1 X101.500 Y101.000 E0.08000
G1 X103.000 Y102.000 E0.12000
G1 X104.500 Y103.000 E0.16000
;TIME_ELAPSED:60.5
;LAYER:1
M106 S85
G0 X91 Y91 Z0.42
G1 X100.000 Y100.000 E0.20000
G1 X101.500 Y101.000 E0.24000
G1 X103.000 Y102.000 E0.28000
G1 X104.500 Y103.000 E0.32000
;TIME_ELAPSED:120.2
G1 F2700 E1.96
M140 S0
M107
M104 S0
M84
M82 ;absolute extrusion mode
;End of Gcode
;SETTING_3 {"global_quality": "[general]\\nversion = 4\\nname = Standard Quality #2\\ndefinition = creality_ender3\\n\\n[metadata]\\ntype = quality_changes\\nquality_type = standard\\nsetting_version = 22\\n\\n[values]\\nlayer_he
;SETTING_3 ight = 0.12\\nlayer_height_0 = 0.3\\n\\n", "extruder_quality": ["[general]\\nversion = 4\\nname = Standard Quality #2\\ndefinition = creality_ender3\\n\\n[metadata]\\ntype = quality_changes\\n[values]\\nmaterial_bed_temperature = 60\\nmaterial_print_temperature = 200\\n"]}
