module weft.bench/tracepeer

go 1.19
