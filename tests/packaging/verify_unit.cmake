# Checks the generated unit: program paths from the install prefix, check-config --quiet before the
# start, the credentials the example configuration names, and `systemd-analyze verify` clean (a
# wrong Documentation= URL or a missing program fails).
find_program(ANALYZE systemd-analyze)
if(NOT ANALYZE)
  message("systemd-analyze not found (Debian package systemd): skipped")
  cmake_language(EXIT 77)
endif()
file(READ "${UNIT}" unit)
foreach(line "ExecStart=${BINDIR}/sentinel-gateway run --config "
             "ExecStartPre=${BINDIR}/sentinel-gateway check-config --quiet --config "
             # The example configuration's *_credential names (config/gateway.example.toml).
             "\nLoadCredential=sentinel-gateway.kafka-password\n"
             "\nLoadCredential=sentinel-gateway.client-secret\n"
             "\nLoadCredential=sentinel-gateway.shared-key\n")
  string(FIND "${unit}" "${line}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${UNIT} lacks '${line}'")
  endif()
endforeach()
if(unit MATCHES "@[A-Z_]+@")
  message(FATAL_ERROR "${UNIT} has an unsubstituted ${CMAKE_MATCH_0}")
endif()
string(REPLACE "${BINDIR}/" "${BUILD_BIN}/" unit "${unit}")
file(MAKE_DIRECTORY "${WORK}")
file(WRITE "${WORK}/sentinel-gateway.service" "${unit}")
execute_process(COMMAND ${ANALYZE} verify "${WORK}/sentinel-gateway.service"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
  message(FATAL_ERROR "systemd-analyze verify: exit ${rc}\n${out}${err}")
endif()
