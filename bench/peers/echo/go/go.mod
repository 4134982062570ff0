module peers/echo

go 1.19
