"""Azure collectors: one module per kind of resource, each a thin ARM read plus pure parsers
over the wire JSON, producing immutable facts for one subscription."""
