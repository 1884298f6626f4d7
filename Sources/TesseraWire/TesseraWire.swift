// TesseraWire: see DESIGN.md §2.
