package ingest

// sniffPcap recognises pcap and pcapng captures. Placeholder until the pcap reader lands.
func sniffPcap(head []byte, name string, opts *Options) (recordFormat, error) { return nil, nil }
