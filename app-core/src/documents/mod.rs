//! Documents: labels, receipts, invoices, statements (in progress).
