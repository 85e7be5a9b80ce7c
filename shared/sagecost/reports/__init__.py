"""The month-end outputs, rendered from an `AllocationReport`: pure functions from data to text."""
