# cmake -DPROGRAM=... -DARGS=... -DOUT=... [-DGZIP=gzip] -P capture.cmake
# Runs PROGRAM ARGS and keeps its standard output as OUT (and OUT.gz,
# compressed as Debian does: gzip -9n, no name or time stamp, so that the
# same sources give the same bytes). A failure fails the build.
get_filename_component(dir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${dir})
execute_process(COMMAND ${PROGRAM} ${ARGS} OUTPUT_FILE ${OUT}.tmp RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE ${OUT}.tmp)
  message(FATAL_ERROR "${PROGRAM} ${ARGS} failed (${rc})")
endif()
file(RENAME ${OUT}.tmp ${OUT})
if(GZIP)
  execute_process(COMMAND ${GZIP} -9 -n -c ${OUT} OUTPUT_FILE ${OUT}.gz RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${GZIP} ${OUT} failed (${rc})")
  endif()
endif()
