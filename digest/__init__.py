"""Pure text functions of newsdigest: cleaning, language, grouping, summarizing, rendering.

Nothing in this package imports Prefect or touches the network or the database.
"""
