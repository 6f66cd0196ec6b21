# Run by `cmake --install` (and by CPack): files whose content or place depends on the prefix given
# at install time (`--prefix`, CPack's /usr), not the one configured. The unit names the installed
# programs; with the prefix /usr the configuration goes to /etc (the Debian package's layout).
# Inputs (install(CODE) in CMakeLists.txt): SG_SOURCE_DIR, SG_BINARY_DIR, SG_BINDIR, SG_DOCDIR.
set(prefix "${CMAKE_INSTALL_PREFIX}")
set(CMAKE_INSTALL_FULL_BINDIR "${prefix}/${SG_BINDIR}")
set(CMAKE_INSTALL_FULL_DOCDIR "${prefix}/${SG_DOCDIR}")
set(unit "${SG_BINARY_DIR}/install/sentinel-gateway.service")
configure_file("${SG_SOURCE_DIR}/config/sentinel-gateway.service.in" "${unit}" @ONLY)
file(INSTALL "${unit}" DESTINATION "${prefix}/lib/systemd/system")

# The packaged layout (prefix /usr): the example becomes /etc/sentinel-gateway/gateway.toml, the
# unit's --config (a conffile in the .deb). Other prefixes keep only share/sentinel-gateway's copy.
if(prefix STREQUAL "/usr")
  set(conf "/etc/sentinel-gateway/gateway.toml")
  if(NOT "$ENV{DESTDIR}" STREQUAL "" OR NOT EXISTS "${conf}")
    file(INSTALL "${SG_SOURCE_DIR}/config/gateway.example.toml" DESTINATION "/etc/sentinel-gateway"
         RENAME gateway.toml)
  else()
    # A configuration in place is the operator's: a reinstall from source never overwrites it.
    message(STATUS "Kept: ${conf}")
  endif()
endif()
