# Writes a C++ file that holds every chip preset YAML as a string, so the
# tools find presets wherever they are installed.
# Inputs: OUTPUT (file to write), PRESETS (|-separated .yaml paths), and
# FUNCTION (name of the accessor; embeddedPresets when not given).
string(REPLACE "|" ";" PRESETS "${PRESETS}")
if(NOT FUNCTION)
  set(FUNCTION embeddedPresets)
endif()
set(content "// Generated from preset YAML files by cmake/EmbedPresets.cmake; do not edit.\n")
string(APPEND content "#include <map>\n#include <string>\nnamespace trnx {\n")
string(APPEND content "const std::map<std::string, std::string> &${FUNCTION}() {\n")
string(APPEND content "  static const std::map<std::string, std::string> presets = {\n")
foreach(path ${PRESETS})
  get_filename_component(name ${path} NAME_WE)
  file(READ ${path} text)
  string(APPEND content "    {\"${name}\", R\"trnxpreset(${text})trnxpreset\"},\n")
endforeach()
string(APPEND content "  };\n  return presets;\n}\n} // namespace trnx\n")
file(WRITE ${OUTPUT}.tmp "${content}")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUTPUT}.tmp ${OUTPUT})
