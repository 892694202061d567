package ingest

// sniffEve recognises Suricata eve.json. Placeholder until the eve reader lands.
func sniffEve(head []byte, name string, opts *Options) (lineFormat, error) { return nil, nil }
