// TesseraNIO: see DESIGN.md §2.
