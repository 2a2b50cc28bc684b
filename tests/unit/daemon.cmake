hls_unit_test(store hlsdcore)
hls_unit_test(config hlshome)
hls_unit_test(home hlshome)
hls_unit_test(csvimport hlsimport)
