# Finds the system libraries swimring builds on. Each failure names the
# Debian package that provides the missing piece (`make deps` installs them).
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: apt-get install pkg-config (or run `make deps`)")
endif()

function(sr_require_pc var module debian_pkg)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "${module} not found via pkg-config: apt-get install ${debian_pkg} (or run `make deps`)")
  endif()
endfunction()

sr_require_pc(SR_LIBEVENT libevent libevent-dev)
sr_require_pc(SR_LIBEVENT_SSL libevent_openssl libevent-dev)
sr_require_pc(SR_MSGPACK msgpack libmsgpack-dev)
sr_require_pc(SR_YAML yaml-0.1 libyaml-dev)
sr_require_pc(SR_JANSSON jansson libjansson-dev)
find_package(OpenSSL 1.1.1)
if(NOT OpenSSL_FOUND)
  message(FATAL_ERROR "OpenSSL not found: apt-get install libssl-dev (or run `make deps`)")
endif()

add_library(sr_deps INTERFACE)
target_link_libraries(sr_deps INTERFACE
  PkgConfig::SR_LIBEVENT_SSL PkgConfig::SR_LIBEVENT PkgConfig::SR_MSGPACK
  PkgConfig::SR_YAML PkgConfig::SR_JANSSON OpenSSL::SSL OpenSSL::Crypto m)

if(SWIMRING_TESTS)
  sr_require_pc(SR_CRITERION criterion libcriterion-dev)
endif()
