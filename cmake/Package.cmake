# The Debian package: `cpack -G DEB` (or `cmake --build build --target package`) in a build tree
# writes sentinel-gateway_<version>_amd64.deb. Its files come from the install rules (prefix /usr,
# installed under DESTDIR so that the install-time prefix is /usr: cmake/InstallSystemFiles.cmake);
# its maintainer scripts are packaging/debian/*.

# Man pages from each program's --help (help2man), compressed as Debian wants them.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(sg_man_pages)
  foreach(prog sentinel-gateway sentinel-spool)
    set(page ${PROJECT_BINARY_DIR}/man/${prog}.1.gz)
    if(prog STREQUAL "sentinel-gateway")
      set(what "Citrix Analytics risk events from Kafka into Microsoft Sentinel, through a durable spool")
    else()
      set(what "inspect the sentinel-gateway spool, requeue or drop failed batches")
    endif()
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section 1 --name ${what}
              --output ${PROJECT_BINARY_DIR}/man/${prog}.1 $<TARGET_FILE:${prog}>
      COMMAND gzip -9nf ${PROJECT_BINARY_DIR}/man/${prog}.1
      DEPENDS ${prog}
      COMMENT "Man page ${prog}(1) from its --help"
      VERBATIM)
    list(APPEND sg_man_pages ${page})
  endforeach()
  add_custom_target(man-pages ALL DEPENDS ${sg_man_pages})
  install(FILES ${sg_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found (Debian package help2man): no man pages, the .deb lacks them")
endif()

install(FILES packaging/sysusers.conf DESTINATION lib/sysusers.d RENAME sentinel-gateway.conf)
install(FILES packaging/tmpfiles.conf DESTINATION lib/tmpfiles.d RENAME sentinel-gateway.conf)

set(CPACK_PACKAGE_CONTACT "sentinel-gateway maintainers <sentinel-gateway@example.org>"
    CACHE STRING "The .deb's Maintainer field")
set(SG_LICENSE "not yet chosen by the authors: all rights reserved" CACHE STRING "The copyright file's License")
string(TIMESTAMP SG_CHANGELOG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)  # honours SOURCE_DATE_EPOCH
set(sg_debian ${PROJECT_BINARY_DIR}/debian)
configure_file(packaging/debian/changelog.in ${sg_debian}/changelog @ONLY)
configure_file(packaging/debian/copyright.in ${sg_debian}/copyright @ONLY)
add_custom_command(OUTPUT ${sg_debian}/changelog.gz
  COMMAND gzip -9nc ${sg_debian}/changelog > ${sg_debian}/changelog.gz
  DEPENDS ${sg_debian}/changelog VERBATIM)
add_custom_target(debian-changelog ALL DEPENDS ${sg_debian}/changelog.gz)
install(FILES ${sg_debian}/copyright ${sg_debian}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Maintainer scripts, with the packaged paths (the package's prefix is /usr).
set(SG_BINDIR /usr/${CMAKE_INSTALL_BINDIR})
set(SG_SYSUSERS /usr/lib/sysusers.d/sentinel-gateway.conf)
set(SG_TMPFILES /usr/lib/tmpfiles.d/sentinel-gateway.conf)
foreach(script postinst prerm postrm)
  configure_file(packaging/debian/${script} ${sg_debian}/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                  WORLD_READ WORLD_EXECUTE)
endforeach()
configure_file(packaging/debian/conffiles ${sg_debian}/conffiles COPYONLY)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sentinel-gateway)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Citrix Analytics risk events from Kafka into Microsoft Sentinel")
set(CPACK_PACKAGE_DESCRIPTION "A durable store-and-forward gateway for an edge VM: it consumes the Citrix
Analytics for Security Kafka topic, keeps every event in a local RocksDB
spool until the Azure Monitor Logs Ingestion API (or the legacy Data Collector
API) has accepted it, and never loses an event through Azure outages, network
partitions, crashes or bad input. Includes sentinel-spool to inspect the spool.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # sentinel-gateway_<version>_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends from the shared libraries the programs actually link (dpkg-shlibdeps).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# postinst falls back to adduser where systemd-sysusers is absent (lintian wants it declared).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${sg_debian}/postinst ${sg_debian}/prerm ${sg_debian}/postrm ${sg_debian}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Install under DESTDIR with the prefix /usr, so that install-time paths are the packaged ones
# (the unit's ExecStart, /etc for the conffile).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # debug info stays in the build tree
include(CPack)
