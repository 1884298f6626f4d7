// TesseraSessions: see DESIGN.md §2.
