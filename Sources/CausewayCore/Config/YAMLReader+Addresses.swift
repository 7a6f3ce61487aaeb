extension YAMLReader {
    /// A list of IP addresses and CIDR blocks (`[10.0.0.0/8, 192.0.2.7, "::1"]`); empty when absent.
    /// An entry that is neither (a host name, a typo) is an error naming the entry: a silently ignored entry
    /// would leave a master key open, or a proxy untrusted, without anyone noticing.
    public func ipAddressList(_ key: String) throws(ConfigError) -> IPAddressList {
        var ranges: [IPAddressRange] = []
        for (i, text) in (try optionalStringList(key) ?? []).enumerated() {
            guard let range = IPAddressRange(text) else {
                throw error(key, "entry \(i + 1) '\(text)' is not an IP address or CIDR block (like 10.0.0.0/8 or 2001:db8::/32; host names are not resolved)")
            }
            ranges.append(range)
        }
        return IPAddressList(ranges)
    }
}
