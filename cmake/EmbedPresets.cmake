# Writes a C++ file that holds every chip preset YAML as a string, so the
# tools find presets wherever they are installed.
# Inputs: OUTPUT (file to write), PRESETS (|-separated .yaml paths).
string(REPLACE "|" ";" PRESETS "${PRESETS}")
set(content "// Generated from simulator/presets/*.yaml by cmake/EmbedPresets.cmake; do not edit.\n")
string(APPEND content "#include <map>\n#include <string>\nnamespace trnx {\n")
string(APPEND content "const std::map<std::string, std::string> &embeddedPresets() {\n")
string(APPEND content "  static const std::map<std::string, std::string> presets = {\n")
foreach(path ${PRESETS})
  get_filename_component(name ${path} NAME_WE)
  file(READ ${path} text)
  string(APPEND content "    {\"${name}\", R\"trnxpreset(${text})trnxpreset\"},\n")
endforeach()
string(APPEND content "  };\n  return presets;\n}\n} // namespace trnx\n")
file(WRITE ${OUTPUT}.tmp "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUTPUT}.tmp ${OUTPUT})
