# cmake -DOUT=FILE -DFILES=a.c;b.h;... -P engine_id.cmake
#
# Writes FILE, a header defining HLS_PAT_ENGINE_ID: the first 128 bits (in
# hex) of the SHA-256 of the pattern engine's files, each by its name
# (not its path) and the SHA-256 of its bytes, in the order given. The
# engine names itself by it in the tests it saves (protocol/patterns_cache.c):
# a build whose engine differs in any byte computes them again instead of
# taking tests of another method; any other change of hlsd keeps them.
set(text "")
foreach(f IN LISTS FILES)
  file(SHA256 "${f}" h)
  get_filename_component(n "${f}" NAME)
  string(APPEND text "${n} ${h}\n")
endforeach()
string(SHA256 id "${text}")
string(SUBSTRING "${id}" 0 32 id)
file(WRITE "${OUT}" "/* Written by cmake/engine_id.cmake from the pattern engine's sources. */
#ifndef HLS_PAT_ENGINE_H
#define HLS_PAT_ENGINE_H
#define HLS_PAT_ENGINE_ID \"${id}\"
#endif
")
