# Man pages and bash completions, written at build time by the built
# binaries from the tables they are built from (hls --man, hlsd --man,
# hlsd --man-config, --bash-completion): the same tables make --help, so
# the pages cannot drift from it, and there is no second copy to edit.

# Man pages are installed gzipped (-9n), as Debian packages them, when
# gzip is there.
find_program(HLS_GZIP gzip)

# bash-completion's completionsdir (pkg-config), made relative to its
# prefix so that it follows CMAKE_INSTALL_PREFIX and cmake --install
# --prefix; else the same path under the prefix.
set(HLS_BASH_COMPLETION_DIR "" CACHE PATH "Where the bash completions of hls and hlsd are installed")
if(NOT HLS_BASH_COMPLETION_DIR)
  pkg_get_variable(_hls_bc_dir bash-completion completionsdir)
  pkg_get_variable(_hls_bc_prefix bash-completion prefix)
  set(HLS_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
  if(_hls_bc_dir AND _hls_bc_prefix)
    string(LENGTH "${_hls_bc_prefix}/" _hls_len)
    string(SUBSTRING "${_hls_bc_dir}" 0 ${_hls_len} _hls_head)
    if(_hls_head STREQUAL "${_hls_bc_prefix}/")
      string(SUBSTRING "${_hls_bc_dir}" ${_hls_len} -1 HLS_BASH_COMPLETION_DIR)
    else()
      set(HLS_BASH_COMPLETION_DIR ${_hls_bc_dir})
    endif()
  endif()
endif()

set(HLS_GENERATED_DIR ${CMAKE_BINARY_DIR}/generated)
set(_hls_capture ${CMAKE_CURRENT_LIST_DIR}/capture.cmake)

# hls_generated_output(TARGET OUTPUT [GZIP] ARGS...): OUTPUT (under
# generated/) is what the built TARGET prints when run with ARGS.
function(hls_generated_output target output)
  cmake_parse_arguments(PARSE_ARGV 2 G "GZIP" "" "")
  set(outputs ${HLS_GENERATED_DIR}/${output})
  set(gzip "")
  if(G_GZIP AND HLS_GZIP)
    list(APPEND outputs ${HLS_GENERATED_DIR}/${output}.gz)
    set(gzip ${HLS_GZIP})
  endif()
  add_custom_command(OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -DPROGRAM=$<TARGET_FILE:${target}> "-DARGS=${G_UNPARSED_ARGUMENTS}"
            -DOUT=${HLS_GENERATED_DIR}/${output} -DGZIP=${gzip} -P ${_hls_capture}
    DEPENDS ${target} ${_hls_capture}
    COMMENT "Writing ${output} (${target} ${G_UNPARSED_ARGUMENTS})" VERBATIM)
  string(MAKE_C_IDENTIFIER "generated_${output}" name)
  add_custom_target(${name} ALL DEPENDS ${outputs})
endfunction()

# hls_man_page(TARGET PAGE ARGS...): PAGE ("hls.1") written by TARGET ARGS,
# installed in CMAKE_INSTALL_MANDIR/manN.
function(hls_man_page target page)
  hls_generated_output(${target} man/${page} GZIP ${ARGN})
  string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" section ${page})
  if(HLS_GZIP)
    install(FILES ${HLS_GENERATED_DIR}/man/${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  else()
    install(FILES ${HLS_GENERATED_DIR}/man/${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endif()
endfunction()

# hls_bash_completion(TARGET): TARGET --bash-completion, installed as the
# completion of the command TARGET (bash-completion loads it by name).
function(hls_bash_completion target)
  hls_generated_output(${target} completions/${target} --bash-completion)
  install(FILES ${HLS_GENERATED_DIR}/completions/${target} DESTINATION ${HLS_BASH_COMPLETION_DIR})
endfunction()
