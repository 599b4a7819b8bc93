"""Bring a client's people in from ConnectWise Manage or Zendesk, and link deployments to them.

accounts: the MSP's credentials (encrypted) and the clients built from them; links: a deployment's
company or organization, found or created; fetches: the background fetch and its stored raw records;
matching: the field-matching screen and staging into the shared import preview.
"""
