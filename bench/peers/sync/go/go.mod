module peers/sync

go 1.19
