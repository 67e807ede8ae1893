package session

// ValidateMetadata applies the sessions' metadata rules (key count, key and
// value lengths) to another object's metadata, such as a refund's; nil
// becomes an empty map.
func ValidateMetadata(m map[string]string) (map[string]string, error) { return metadata(m) }
