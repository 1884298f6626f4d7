// TesseraCrypto: see DESIGN.md §2.
