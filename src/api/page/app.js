// The operator page (being written).
