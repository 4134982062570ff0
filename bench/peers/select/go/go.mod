module selectbench

go 1.19
