// TesseraCore: see DESIGN.md §2.
