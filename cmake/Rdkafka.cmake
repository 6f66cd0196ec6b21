# Finds the librdkafka to link and defines the imported target PkgConfig::RDKAFKA with it.
#  1. The system's librdkafka (pkg-config rdkafka), when it is at least LIBRDKAFKA_MIN: linked as
#     the distribution ships it.
#  2. Otherwise the release tools/setup.sh builds from Debian's source package into a cache
#     outside the clone (tools/librdkafka.pin): linked statically (librdkafka.a, its own
#     dependencies shared, from its rdkafka-static.pc).
#  3. Otherwise configuring fails and says how to fix it.
# SG_RDKAFKA_PREFIX (cache variable or environment) names such a build explicitly.
file(STRINGS ${PROJECT_SOURCE_DIR}/tools/librdkafka.pin _pin REGEX "^LIBRDKAFKA_[A-Z_]+=")
foreach(_line IN LISTS _pin)
  string(REGEX REPLACE "^([A-Z_]+)=(.*)$" "\\1;\\2" _kv "${_line}")
  list(GET _kv 0 _k)
  list(GET _kv 1 _v)
  set(${_k} "${_v}")
endforeach()
set(SG_RDKAFKA_MIN ${LIBRDKAFKA_MIN})

set(SG_RDKAFKA_PREFIX "$ENV{SG_RDKAFKA_PREFIX}" CACHE PATH
    "A librdkafka install (lib/pkgconfig/rdkafka-static.pc) to link statically; empty: look for one")

execute_process(COMMAND ${PKG_CONFIG_EXECUTABLE} --modversion rdkafka
                OUTPUT_VARIABLE _sys_version OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)

# Where tools/setup.sh puts its build (the same order as tools/setup.sh's cache_root).
set(_candidates "")
if(SG_RDKAFKA_PREFIX)
  list(APPEND _candidates "${SG_RDKAFKA_PREFIX}")
else()
  set(_leaf "librdkafka-${LIBRDKAFKA_SOURCE_VERSION}")
  if(DEFINED ENV{SG_CACHE_DIR} AND NOT "$ENV{SG_CACHE_DIR}" STREQUAL "")
    list(APPEND _candidates "$ENV{SG_CACHE_DIR}/${_leaf}")
  endif()
  list(APPEND _candidates "/var/cache/sentinel-gateway/${_leaf}")
  if(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
    list(APPEND _candidates "$ENV{XDG_CACHE_HOME}/sentinel-gateway/${_leaf}")
  endif()
  if(DEFINED ENV{HOME})
    list(APPEND _candidates "$ENV{HOME}/.cache/sentinel-gateway/${_leaf}")
  endif()
endif()

set(_built "")
if(NOT SG_RDKAFKA_PREFIX AND _sys_version AND _sys_version VERSION_GREATER_EQUAL SG_RDKAFKA_MIN)
  pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)
  set(SG_RDKAFKA_ORIGIN "system, shared, ${RDKAFKA_VERSION}")
  message(STATUS "librdkafka: the system's ${_sys_version} (>= ${SG_RDKAFKA_MIN})")
else()
  foreach(_c IN LISTS _candidates)
    if(EXISTS "${_c}/lib/pkgconfig/rdkafka-static.pc" AND EXISTS "${_c}/lib/librdkafka.a")
      set(_built "${_c}")
      break()
    endif()
  endforeach()
  if(_built)
    set(_env ${CMAKE_COMMAND} -E env "PKG_CONFIG_PATH=${_built}/lib/pkgconfig")
    execute_process(COMMAND ${_env} ${PKG_CONFIG_EXECUTABLE} --modversion rdkafka-static
                    OUTPUT_VARIABLE _built_version OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc1)
    execute_process(COMMAND ${_env} ${PKG_CONFIG_EXECUTABLE} --libs rdkafka-static
                    OUTPUT_VARIABLE _libs OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE _rc2)
    if(NOT _rc1 EQUAL 0 OR NOT _rc2 EQUAL 0)
      message(FATAL_ERROR "librdkafka: pkg-config cannot read ${_built}/lib/pkgconfig/rdkafka-static.pc "
                          "(a dependency's development package missing?). Run tools/setup.sh.")
    endif()
    if(_built_version VERSION_LESS SG_RDKAFKA_MIN)
      message(FATAL_ERROR "librdkafka: ${_built} holds ${_built_version}, older than ${SG_RDKAFKA_MIN}.")
    endif()
    separate_arguments(_libs UNIX_COMMAND "${_libs}")
    add_library(PkgConfig::RDKAFKA INTERFACE IMPORTED GLOBAL)
    set_target_properties(PkgConfig::RDKAFKA PROPERTIES
      INTERFACE_INCLUDE_DIRECTORIES "${_built}/include"
      INTERFACE_LINK_LIBRARIES "${_libs}")
    set(RDKAFKA_VERSION "${_built_version}")
    set(SG_RDKAFKA_ORIGIN "static, Debian source package librdkafka ${LIBRDKAFKA_SOURCE_VERSION}")
    message(STATUS "librdkafka: ${_built_version}, static, from ${_built}")
  elseif(_sys_version)
    string(REPLACE ";" ", " _where "${_candidates}")
    message(FATAL_ERROR
      "librdkafka: found only the system's ${_sys_version}, but sentinel-gateway needs ${SG_RDKAFKA_MIN} or "
      "newer (older releases cannot log in to Kafka 4.x brokers over SCRAM). Run tools/setup.sh: it "
      "builds librdkafka ${LIBRDKAFKA_SOURCE_VERSION} from Debian's source package into a cache "
      "(looked in: ${_where}), or set SG_RDKAFKA_PREFIX to a librdkafka >= ${SG_RDKAFKA_MIN} install.")
  else()
    message(FATAL_ERROR
      "librdkafka: none found (pkg-config rdkafka, ${_candidates}). Run tools/setup.sh, or set "
      "SG_RDKAFKA_PREFIX to a librdkafka >= ${SG_RDKAFKA_MIN} install.")
  endif()
endif()
