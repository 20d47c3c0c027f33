"""solat_engine: a small trading execution engine that never loses or doubles an order."""
