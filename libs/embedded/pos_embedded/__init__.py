"""Embedded mode: every service's app in one process behind the gateway's paths.

The only place that imports more than one service; the services themselves never
import each other.
"""
