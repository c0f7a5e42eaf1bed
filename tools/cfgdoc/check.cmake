# cmake -DCFGDOC=<cfgdoc binary> -DDOC=<docs/configuration.md> -P check.cmake
execute_process(COMMAND ${CFGDOC} OUTPUT_VARIABLE generated RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cfgdoc failed (${rc})")
endif()
file(READ ${DOC} current)
if(NOT current STREQUAL generated)
  message(FATAL_ERROR "${DOC} is out of date; regenerate it with:\n  ${CFGDOC} > ${DOC}")
endif()
