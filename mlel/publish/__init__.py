"""The static site: any results directories as HTML pages to put on a static host or open from file://."""
