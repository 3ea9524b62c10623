"""Certificates, identities and chains: parsing and checking, nothing about payloads."""
